package cibtest

import (
	"encoding/xml"
	"strings"
	"testing"
)

// Node attributes that live in the status section (lifetime reboot), as
// pacemaker-attrd writes them on a live cluster: an agent such as
// ocf:pacemaker:attribute sets one when it starts; crm_simulate runs no
// agent, so a test writes what the agent would have.

// NodeAttr returns node's transient attribute name in cib, "" when it is
// not set.
func NodeAttr(t testing.TB, cib, node, name string) string {
	t.Helper()
	out, err := Run(t, cib, "crm_attribute", "--node", node, "--name", name, "--lifetime", "reboot", "--query", "--quiet")
	if err != nil {
		// crm_attribute fails on an attribute that is not set (ENXIO).
		if strings.Contains(err.Error(), "No such device or address") || strings.Contains(err.Error(), "exit status 105") {
			return ""
		}
		t.Fatal(err)
	}
	return strings.TrimSpace(out)
}

// SetNodeAttr sets node's transient attribute name to value in cib.
func SetNodeAttr(t testing.TB, cib, node, name, value string) {
	t.Helper()
	if _, err := Run(t, cib, "crm_attribute", "--node", node, "--name", name, "--lifetime", "reboot", "--update", value); err != nil {
		t.Fatal(err)
	}
}

// Nodes lists the nodes cib knows, in crm_mon's order.
func Nodes(t testing.TB, cib string) []string {
	t.Helper()
	out, err := Run(t, cib, "crm_mon", "-1", "--output-as=xml")
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Nodes []struct {
			Name string `xml:"name,attr"`
		} `xml:"nodes>node"`
	}
	if err := xml.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("crm_mon output: %v\n%s", err, out)
	}
	var n []string
	for _, x := range m.Nodes {
		n = append(n, x.Name)
	}
	return n
}
