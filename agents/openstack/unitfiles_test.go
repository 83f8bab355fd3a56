package openstack

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stackha/stackha/ocf"
)

// Start puts the drop-in that keeps systemd from restarting the unit in
// front of it (and reloads), stop removes it once the unit is inactive.
func TestSystemdDropIn(t *testing.T) {
	srv := versionServer(t, 300, keystoneDoc)
	unit := "sho-keystone.service"
	fake := &fakeSystemd{units: map[string]*UnitState{unit: loaded("inactive")}}
	useSystemd(t, fake, nil)
	p := map[string]string{"run_mode": "systemd", "unit": unit, "url": srv}
	op := runOpts{timeoutMS: 5000}
	file := filepath.Join(DropInRoot, unit+".d", dropInName)
	wantCode(t, "start", runAgent(t, "keystone", "start", p, op), ocf.Success)
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Description=Cluster Controlled " + unit, "[Service]\nRestart=no"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("drop-in lacks %q:\n%s", want, b)
		}
	}
	if st, _ := os.Stat(file); st.Mode().Perm() != 0o644 {
		t.Errorf("drop-in mode %v", st.Mode())
	}
	// a second start on the running unit writes nothing, reloads nothing
	fake.calls = nil
	wantCode(t, "start again", runAgent(t, "keystone", "start", p, op), ocf.Success)
	if strings.Contains(strings.Join(fake.calls, ","), "reload") {
		t.Errorf("start on a running unit reloaded: %v", fake.calls)
	}
	wantCode(t, "stop", runAgent(t, "keystone", "stop", p, op), ocf.Success)
	if _, err := os.Stat(filepath.Dir(file)); !os.IsNotExist(err) {
		t.Errorf("after stop: %s: %v", filepath.Dir(file), err)
	}
	// a drop-in directory others can write is refused, nothing started
	os.Chmod(DropInRoot, 0o777)
	defer os.Chmod(DropInRoot, 0o755)
	fake.calls = nil
	wantCode(t, "start, drop-in root writable by others", runAgent(t, "keystone", "start", p, op), ocf.ErrGeneric, "drop-in")
	if strings.Contains(strings.Join(fake.calls, ","), "start") {
		t.Errorf("unit started without its drop-in: %v", fake.calls)
	}
}

func TestQuoteLines(t *testing.T) {
	got := quoteLines("a\nb\n\nc\x1b\n"+strings.Repeat("x", 1000)+"\n", 3, 300)
	if strings.Contains(got, "\x1b") || !strings.HasPrefix(got, `"b"; "c\x1b"`) || len(got) > 300 {
		t.Errorf("quoteLines: %q", got)
	}
	c := &capped{max: 4}
	c.Write([]byte("abc"))
	c.Write([]byte("defgh"))
	if c.String() != "efgh" {
		t.Errorf("capped kept %q", c.String())
	}
}
