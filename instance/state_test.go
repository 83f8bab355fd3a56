package instance

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/stackha/stackha/internal/testutil/require"
)

type testRecord struct {
	PID  int      `json:"pid"`
	Args []string `json:"args"`
}

var testKind = Kind{Name: "tester", Version: 2}

func recordPath(name string, k Kind) string {
	return filepath.Join(StateDir(name), k.Name+recordSuffix)
}

func TestStateRoundTrip(t *testing.T) {
	root := setRoot(t)
	if StateDir("vip") != filepath.Join(root, "vip") {
		t.Errorf("StateDir(vip) = %s", StateDir("vip"))
	}
	var got testRecord
	if found, err := Load("vip", testKind, &got); found || err != nil {
		t.Fatalf("Load without Root: %t, %v", found, err)
	}
	if err := Remove("vip", testKind); err != nil {
		t.Fatalf("Remove without Root: %v", err)
	}
	want := testRecord{PID: 42, Args: []string{"haproxy", "-f", "a\nb"}}
	withUmask(t, 0o022)
	if err := Save("vip", testKind, &want); err != nil {
		t.Fatal(err)
	}
	for p, m := range map[string]os.FileMode{
		root:                        os.ModeDir | 0o755,
		StateDir("vip"):             os.ModeDir | 0o700,
		recordPath("vip", testKind): 0o600,
	} {
		if got := mode(t, p); got != m {
			t.Errorf("%s: mode %v, want %v", p, got, m)
		}
	}
	found, err := Load("vip", testKind, &got)
	if !found || err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("Load = %t, %v, %+v; want %+v", found, err, got, want)
	}
	// Saved again: replaced, and still 0600 under other umasks.
	withUmask(t, 0)
	want.PID = 43
	if err := Save("vip", testKind, &want); err != nil {
		t.Fatal(err)
	}
	if m := mode(t, recordPath("vip", testKind)); m != 0o600 {
		t.Errorf("saved under umask 0: mode %v", m)
	}
	got = testRecord{}
	if found, err := Load("vip", testKind, &got); !found || err != nil || got.PID != 43 {
		t.Errorf("Load after a second Save = %t, %v, %+v", found, err, got)
	}
	if tmp := tmpFiles(t, StateDir("vip")); len(tmp) != 0 {
		t.Errorf("temporary files left: %v", tmp)
	}
	// The envelope says what it is.
	var env map[string]any
	if err := json.Unmarshal([]byte(readFile(t, recordPath("vip", testKind))), &env); err != nil {
		t.Fatal(err)
	}
	if env["format"] != 1.0 || env["kind"] != "tester" || env["version"] != 2.0 || env["written"] == "" {
		t.Errorf("envelope %v", env)
	}

	if err := Remove("vip", testKind); err != nil {
		t.Fatal(err)
	}
	if exists(StateDir("vip")) {
		t.Error("Remove left the empty state directory")
	}
	if !exists(root) {
		t.Error("Remove removed Root")
	}
	if found, err := Load("vip", testKind, &got); found || err != nil {
		t.Errorf("Load after Remove = %t, %v", found, err)
	}
	if err := Remove("vip", testKind); err != nil {
		t.Errorf("Remove twice: %v", err)
	}
}

func TestLoadWithoutRecord(t *testing.T) {
	setRoot(t)
	if err := os.MkdirAll(Root, 0o755); err != nil {
		t.Fatal(err)
	}
	var r testRecord
	if found, err := Load("vip", testKind, &r); found || err != nil {
		t.Errorf("no state directory: %t, %v", found, err)
	}
	d, err := OpenState("vip", true)
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	if m := mode(t, StateDir("vip")); m != os.ModeDir|0o700 {
		t.Errorf("OpenState made the state directory with mode %v", m)
	}
	if found, err := Load("vip", testKind, &r); found || err != nil {
		t.Errorf("an empty state directory: %t, %v", found, err)
	}
	// Another kind's record is not this one.
	if err := Save("vip", Kind{Name: "other", Version: 1}, &r); err != nil {
		t.Fatal(err)
	}
	if found, err := Load("vip", testKind, &r); found || err != nil {
		t.Errorf("a state directory with another kind's record: %t, %v", found, err)
	}
}

// A record that exists but cannot be taken as written by this stackha is
// an error, never "nothing started".
func TestLoadBadRecord(t *testing.T) {
	good := func(mut func(env map[string]any)) string {
		env := map[string]any{"format": 1, "kind": "tester", "version": 2, "written": "2026-12-01T00:00:00Z",
			"data": map[string]any{"pid": 7, "args": []string{"x"}}}
		if mut != nil {
			mut(env)
		}
		b, err := json.Marshal(env)
		if err != nil {
			t.Fatal(err)
		}
		return string(b) + "\n"
	}
	whole := good(nil)
	cases := []struct {
		name, content, why string
	}{
		{"empty", "", "does not parse"},
		{"truncated", whole[:len(whole)/2], "does not parse"},
		{"truncated by one byte", whole[:len(whole)-2], "does not parse"},
		{"not JSON", "pid=7\n", "does not parse"},
		{"a list", "[]", "does not parse"},
		{"an unknown envelope field", good(func(e map[string]any) { e["extra"] = true }), "does not parse"},
		{"an unknown data field", good(func(e map[string]any) { e["data"] = map[string]any{"pid": 7, "sig": 9} }), "data does not parse"},
		{"data of the wrong type", good(func(e map[string]any) { e["data"] = map[string]any{"pid": "7"} }), "data does not parse"},
		{"no data", good(func(e map[string]any) { delete(e, "data") }), "data does not parse"},
		{"another kind", good(func(e map[string]any) { e["kind"] = "vip" }), "holds \"vip\" version 2"},
		{"a kind to quote", good(func(e map[string]any) { e["kind"] = "x\n\x1b[2J" }), `holds "x\n\x1b[2J"`},
		{"an older version", good(func(e map[string]any) { e["version"] = 1 }), "version 1; this stackha reads tester version 2"},
		{"a newer version", good(func(e map[string]any) { e["version"] = 3 }), "version 3"},
		{"format 2", good(func(e map[string]any) { e["format"] = 2 }), "of format 2"},
		{"no format", good(func(e map[string]any) { delete(e, "format") }), "of format 0"},
		{"a second value after the record", whole + "{}\n", "does not parse"},
		{"garbage after the record", whole + "}", "does not parse"},
		{"too large", good(func(e map[string]any) { e["data"] = map[string]any{"args": []string{strings.Repeat("x", MaxRecord)}} }), "larger than"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			setRoot(t)
			d, err := OpenState("vip", true)
			if err != nil {
				t.Fatal(err)
			}
			if err := d.WriteAtomic(testKind.Name+recordSuffix, []byte(c.content), 0o600); err != nil {
				t.Fatal(err)
			}
			d.Close()
			var r testRecord
			found, err := Load("vip", testKind, &r)
			if found || err == nil {
				t.Fatalf("Load = %t, %v; want an error", found, err)
			}
			if !strings.Contains(err.Error(), c.why) {
				t.Errorf("Load: %v, want an error saying %q", err, c.why)
			}
			if !printableASCII(err.Error()) {
				t.Errorf("Load: %q is not printable ASCII", err)
			}
		})
	}
}

// A record file that fails the file rules is an error too.
func TestLoadRecordFileRules(t *testing.T) {
	cases := []struct {
		name  string
		plant func(t *testing.T, p string)
		why   string
	}{
		{"others can write it", func(t *testing.T, p string) {
			if err := os.Chmod(p, 0o606); err != nil {
				t.Fatal(err)
			}
		}, "others can write it"},
		{"a second link", func(t *testing.T, p string) {
			if err := os.Link(p, filepath.Join(Root, "link")); err != nil {
				t.Fatal(err)
			}
		}, "2 links"},
		{"a link", func(t *testing.T, p string) {
			other := filepath.Join(Root, "elsewhere")
			if err := os.Rename(p, other); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(other, p); err != nil {
				t.Fatal(err)
			}
		}, "symbolic link"},
		{"a directory", func(t *testing.T, p string) {
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
			if err := os.Mkdir(p, 0o700); err != nil {
				t.Fatal(err)
			}
		}, "not a regular file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			setRoot(t)
			if err := Save("vip", testKind, &testRecord{PID: 7}); err != nil {
				t.Fatal(err)
			}
			c.plant(t, recordPath("vip", testKind))
			var r testRecord
			found, err := Load("vip", testKind, &r)
			if found || err == nil || !strings.Contains(err.Error(), c.why) {
				t.Errorf("Load = %t, %v; want an error saying %q", found, err, c.why)
			}
		})
	}
}

// Root or the state directory failing the rules: an *UntrustedError from
// every entry point, and nothing written.
func TestUntrustedState(t *testing.T) {
	type plant func(t *testing.T)
	chmod := func(p func() string, m os.FileMode) plant {
		return func(t *testing.T) {
			if err := os.Chmod(p(), m); err != nil {
				t.Fatal(err)
			}
		}
	}
	chown := func(p func() string, uid int) plant {
		return func(t *testing.T) {
			require.Root(t)
			if err := os.Chown(p(), uid, uid); err != nil {
				t.Fatal(err)
			}
		}
	}
	root := func() string { return Root }
	parent := func() string { return filepath.Dir(Root) }
	dir := func() string { return StateDir("vip") }
	cases := []struct {
		name  string
		plant plant
		why   string
	}{
		{"Root others can write", chmod(root, 0o777), "others can write it"},
		{"Root sticky and others can write", chmod(root, 0o777|os.ModeSticky), "others can write it"},
		{"Root's parent others can write", chmod(parent, 0o777), "others can write it"},
		{"the state directory others can write", chmod(dir, 0o777), "others can write it"},
		{"Root of nobody's", chown(root, nobody), "owned by uid 65534"},
		{"the state directory of nobody's", chown(dir, nobody), "owned by uid 65534"},
		{"Root group-writable by nogroup", func(t *testing.T) {
			chown(root, 0)(t)
			if err := os.Chown(Root, 0, nobody); err != nil {
				t.Fatal(err)
			}
			chmod(root, 0o775)(t)
		}, "its group 65534 can write it"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			setRoot(t)
			if err := Save("vip", testKind, &testRecord{PID: 7}); err != nil {
				t.Fatal(err)
			}
			before := readFile(t, recordPath("vip", testKind))
			c.plant(t)
			untrusted := func(what string, err error) {
				t.Helper()
				var ue *UntrustedError
				if !errors.As(err, &ue) {
					t.Errorf("%s: %v (%T), want an *UntrustedError", what, err, err)
				} else if !strings.Contains(err.Error(), c.why) || !strings.HasPrefix(err.Error(), "state directory not trusted: ") {
					t.Errorf("%s: %v, want a reason saying %q", what, err, c.why)
				}
			}
			var r testRecord
			found, err := Load("vip", testKind, &r)
			if found {
				t.Error("Load found a record in an untrusted directory")
			}
			untrusted("Load", err)
			untrusted("Save", Save("vip", testKind, &testRecord{PID: 8}))
			untrusted("Remove", Remove("vip", testKind))
			_, err = OpenState("vip", false)
			untrusted("OpenState", err)
			_, err = OpenState("vip", true)
			untrusted("OpenState with create", err)
			if got := readFile(t, recordPath("vip", testKind)); got != before {
				t.Errorf("the record changed: %q", got)
			}
			if exists(filepath.Join(Root, "other")) {
				t.Error("a state directory was made")
			}
		})
	}
}

func TestRemoveLeavesAStateDirectoryInUse(t *testing.T) {
	setRoot(t)
	other := Kind{Name: "other", Version: 1}
	for _, k := range []Kind{testKind, other} {
		if err := Save("vip", k, &testRecord{PID: 7}); err != nil {
			t.Fatal(err)
		}
	}
	if err := Remove("vip", testKind); err != nil {
		t.Fatal(err)
	}
	if exists(recordPath("vip", testKind)) || !exists(recordPath("vip", other)) {
		t.Fatal("Remove removed the wrong record")
	}
	if err := Remove("vip", other); err != nil {
		t.Fatal(err)
	}
	if exists(StateDir("vip")) {
		t.Fatal("the last Remove left the state directory")
	}

	// An agent's own file beside the record.
	if err := Save("vip", testKind, &testRecord{PID: 7}); err != nil {
		t.Fatal(err)
	}
	d, err := OpenState("vip", false)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.WriteAtomic("haproxy.cfg", []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	d.Close()
	if err := Remove("vip", testKind); err != nil {
		t.Fatal(err)
	}
	if exists(recordPath("vip", testKind)) || !exists(filepath.Join(StateDir("vip"), "haproxy.cfg")) {
		t.Error("Remove did not remove just the record")
	}
}

func TestSaveRefuses(t *testing.T) {
	setRoot(t)
	for _, name := range []string{"", "../x", ".locks", "a/b", "x\n"} {
		if err := Save(name, testKind, &testRecord{}); err == nil {
			t.Errorf("Save(%q) saved", name)
		}
		var r testRecord
		if found, err := Load(name, testKind, &r); found || err == nil {
			t.Errorf("Load(%q) = %t, %v", name, found, err)
		}
		if err := Remove(name, testKind); err == nil {
			t.Errorf("Remove(%q) = nil", name)
		}
		if _, err := OpenState(name, true); err == nil {
			t.Errorf("OpenState(%q) opened", name)
		}
	}
	err := Save("vip", testKind, map[string]any{"f": func() {}})
	wantErr(t, "Save of a func", err, "encoding the tester record")
	err = Save("vip", testKind, &testRecord{Args: []string{strings.Repeat("x", MaxRecord)}})
	wantErr(t, "Save of a huge record", err, "more than")
	if exists(Root) {
		t.Error("a Save that failed made Root")
	}
}
