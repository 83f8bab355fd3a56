package render

import (
	"encoding/xml"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/stackha/stackha/internal/testutil/require"
)

// secretTopology is two nodes with fencing; node a's device is agent (with
// a password file) with the parameter name: value, or, when where is
// service, vip or haproxy, that section's params hold it.
func secretTopology(where, agent, name, value string) string {
	param := "{" + name + ": '" + value + "'}"
	t := "vip: {address: 10.0.0.100, prefix: 24"
	if where == "vip" {
		t += ", params: " + param
	}
	t += "}\nnodes:\n  - {name: a, address: 10.0.0.1}\n  - {name: b, address: 10.0.0.2}\n"
	if where == "service" {
		t += "services: [{name: keystone, params: " + param + "}]\n"
	}
	if where == "haproxy" {
		t += "haproxy: {params: " + param + "}\n"
	}
	dev := "{node: a, agent: " + agent + ", password_file: /etc/p}"
	if where == "fence" {
		dev = "{node: a, agent: " + agent + ", password_file: /etc/p, params: " + param + "}"
	}
	return t + "fencing: {devices: [" + dev + ", " + ipmi("b") + "]}\n"
}

// TestSecretParams: a parameter whose name looks like a secret's is
// refused in every params map, by the words in its name and in any case,
// with the field named, the fix said and the value never repeated; names
// that only look alike, or give a secret's path, are written as given.
func TestSecretParams(t *testing.T) {
	const value = "Sekr1t-v4lue"
	const pw = "a literal password would be written into the CIB and every rendered file"
	const aside = "looks like a secret (its name has %q) and would be written into the CIB"
	say := func(w string) string { return strings.Replace(aside, "%q", `"`+w+`"`, 1) }
	for _, tc := range []struct {
		where, agent, name, value string
		want                      []string // every one in the error; none: rendered
	}{
		// fence-agents' secrets the old list of names missed.
		{"fence", "fence_aws", "secret_key", value, []string{"fencing.devices[0].params.secret_key: " + say("secret"), "`cibsecret set fence-a secret_key VALUE`", "/root/.aws/credentials"}},
		{"fence", "fence_aws", "access_key", value, []string{"fencing.devices[0].params.access_key: " + say("key")}},
		{"fence", "fence_ipmilan", "hexadecimal_kg", "0123456789abcdef", []string{"fencing.devices[0].params.hexadecimal_kg: " + say("kg"), "`cibsecret set fence-a hexadecimal_kg VALUE`"}},
		{"fence", "fence_ibm_vpc", "apikey", value, []string{"fencing.devices[0].params.apikey: " + say("key")}},
		{"fence", "fence_ibm_powervs", "token", value, []string{"fencing.devices[0].params.token: " + say("token")}},
		{"fence", "fence_apc_snmp", "community", value, []string{"fencing.devices[0].params.community: " + say("community")}},
		{"fence", "fence_scsi", "key", "1a2b", []string{"fencing.devices[0].params.key: " + say("key")}},
		// Passwords, in any case and spelling: the password file is the fix.
		{"fence", "fence_ipmilan", "password", value, []string{"fencing.devices[0].params.password: " + pw, "fencing.devices[0].password_file", "fencing.devices[0].password_script"}},
		{"fence", "fence_ipmilan", "Password", value, []string{"fencing.devices[0].params.Password: " + pw}},
		{"fence", "fence_aws", "SECRET_KEY", value, []string{"fencing.devices[0].params.SECRET_KEY: " + say("secret")}},
		{"fence", "fence_apc_snmp", "snmp_priv_passwd", value, []string{"fencing.devices[0].params.snmp_priv_passwd: " + pw}},
		{"fence", "fence_x", "passphrase", value, []string{"fencing.devices[0].params.passphrase: " + pw}},
		{"fence", "fence_x", "api-token", value, []string{"fencing.devices[0].params.api-token: " + say("token")}},
		{"fence", "fence_x", "credential", value, []string{"fencing.devices[0].params.credential: " + say("credential")}},
		{"fence", "fence_x", "wifi_psk", value, []string{"fencing.devices[0].params.wifi_psk: " + say("psk")}},
		// A name that gives a secret's path must hold a path.
		{"fence", "fence_ibm_vpc", "token_file", value, []string{"fencing.devices[0].params.token_file: names a file holding a secret", "absolute path"}},
		{"fence", "fence_docker", "tlskey", value, []string{"fencing.devices[0].params.tlskey: names a file holding a secret"}},
		// The other maps: the API agents' secrets go in their credentials file.
		{"service", "", "os_password", value, []string{"services[0].params.os_password: " + pw, "services[0].credentials"}},
		{"service", "", "api_key", value, []string{"services[0].params.api_key: " + say("key"), "services[0].credentials"}},
		{"vip", "", "auth_secret", value, []string{"vip.params.auth_secret: " + say("secret"), "the agent takes no secret"}},
		{"haproxy", "", "stats_password", value, []string{"haproxy.params.stats_password: " + pw, "the agent takes no password"}},

		// Not secrets: written as given.
		{"fence", "fence_virsh", "ssh_options", "-oStrictHostKeyChecking=no", nil},
		{"fence", "fence_virsh", "identity_file", "/root/.ssh/id_ed25519", nil},
		{"fence", "fence_ipmilan", "ipport", "623", nil},
		{"fence", "fence_ipmilan", "auth", "md5", nil},
		{"fence", "fence_ipmilan", "privlvl", "operator", nil},
		{"fence", "fence_ipmilan", "cipher", "3", nil},
		{"fence", "fence_xvm", "key_file", "/etc/cluster/fence_xvm.key", nil},
		{"fence", "fence_ibm_vpc", "token_file", "/var/lib/stackha/ibm.token", nil},
		{"fence", "fence_docker", "tlskey", "/etc/docker/client-key.pem", nil},
		{"fence", "fence_docker", "tlscert", "/etc/docker/client.pem", nil},
		{"fence", "fence_apc_snmp", "snmp_priv_passwd_script", "/usr/local/sbin/snmp-priv", nil},
		{"fence", "fence_scsi", "key_value", "hash", nil},
		{"service", "", "keystone_url", "http://10.0.0.100:5000/v3", nil},
	} {
		t.Run(tc.where+"/"+tc.name, func(t *testing.T) {
			agent := tc.agent
			if agent == "" {
				agent = "fence_ipmilan"
			}
			topo := secretTopology(tc.where, agent, tc.name, tc.value)
			p, err := ParseBytes([]byte(topo))
			if tc.want == nil {
				if err != nil {
					t.Fatalf("refused: %v\n%s", err, topo)
				}
				f, err := Render(p)
				if err != nil {
					t.Fatal(err)
				}
				for _, file := range []string{"cluster.crm", "cluster.pcs.sh"} {
					if s := string(f[file]); !strings.Contains(s, tc.name+"="+tc.value) && !strings.Contains(s, tc.name+`="`+tc.value+`"`) {
						t.Errorf("%s lacks %s=%s", file, tc.name, tc.value)
					}
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted:\n%s", topo)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if strings.Contains(err.Error(), tc.value) {
				t.Errorf("the error repeats the value: %v", err)
			}
		})
	}
}

// TestSecretNamesOfFenceAgents: of every parameter the fence agents
// declare (their own `-o metadata`), exactly these are refused, and these
// pass only with a path; everything else an agent takes passes.
func TestSecretNamesOfFenceAgents(t *testing.T) {
	pw := []string{"passwd", "password"} // passwd_script, password_script: their own fields
	for _, tc := range []struct {
		agent   string
		refused []string
		paths   []string
	}{
		{"fence_ipmilan", append(pw, "hexadecimal_kg"), []string{"passwd_script", "password_script"}},
		{"fence_aws", []string{"access_key", "secret_key"}, nil},
		{"fence_virsh", pw, []string{"passwd_script", "password_script"}},
		{"fence_redfish", pw, []string{"passwd_script", "password_script"}},
		{"fence_sbd", nil, nil},
		{"fence_apc_snmp", append(pw, "community", "snmp_priv_passwd"), []string{"passwd_script", "password_script", "snmp_priv_passwd_script"}},
		{"fence_ibm_vpc", []string{"apikey"}, []string{"token_file"}},
		{"fence_ibm_powervs", []string{"token"}, nil},
		{"fence_docker", nil, []string{"tlskey"}},
		{"fence_scsi", []string{"key"}, nil}, // its reservation key is the plug
		{"fence_openstack", pw, []string{"passwd_script", "password_script"}},
		{"fence_azure_arm", pw, []string{"passwd_script", "password_script"}},
		{"fence_gce", nil, nil},
	} {
		t.Run(tc.agent, func(t *testing.T) {
			t.Parallel()
			require.Command(t, tc.agent)
			out, err := exec.Command(tc.agent, "-o", "metadata").Output()
			if err != nil {
				t.Fatalf("%s -o metadata: %v", tc.agent, err)
			}
			var md struct {
				Parameters []struct {
					Name string `xml:"name,attr"`
				} `xml:"parameters>parameter"`
			}
			if err := xml.Unmarshal(out, &md); err != nil {
				t.Fatal(err)
			}
			var refused, paths []string
			for _, p := range md.Parameters {
				var bad problems
				switch {
				case !secretParam(&bad, p.Name, p.Name, "/etc/x", fenceFix("f", "fence-a", tc.agent)):
					refused = append(refused, p.Name)
				case !secretParam(&bad, p.Name, p.Name, "x", fenceFix("f", "fence-a", tc.agent)):
					paths = append(paths, p.Name)
				}
			}
			for _, c := range []struct {
				what      string
				got, want []string
			}{{"refused", refused, tc.refused}, {"path only", paths, tc.paths}} {
				slices.Sort(c.got)
				slices.Sort(c.want)
				if !slices.Equal(c.got, c.want) {
					t.Errorf("%s: %q, want %q", c.what, c.got, c.want)
				}
			}
		})
	}
}
