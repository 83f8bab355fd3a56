package keys

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stackha/stackha/internal/testutil/require"
)

const (
	k0 = "y1NoRQ2HCGGu4FR8hJPE7BtEstoUsL09fyoYO4_3pH8="
	k1 = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
	k2 = "_____________________________________w-_-w8="
)

// TestParse: a whole stream is taken; anything else is refused as a whole.
func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string // want: the error's text, "" for none
	}{
		{"two keys", "stackha-keys 1 2\n0 " + k0 + "\n1 " + k1 + "\nend\n", ""},
		{"three keys, any order", "stackha-keys 1 3\n5 " + k2 + "\n0 " + k0 + "\n4 " + k1 + "\nend\n", ""},
		{"empty", "", "no \"stackha-keys 1\" header"},
		{"other text", "hello\n", "no \"stackha-keys 1\" header"},
		{"cut short", "stackha-keys 1 2\n0 " + k0 + "\n", "cut short"},
		{"no end", "stackha-keys 1 2\n0 " + k0 + "\n1 " + k1 + "\n", "cut short"},
		{"more after end", "stackha-keys 1 2\n0 " + k0 + "\n1 " + k1 + "\nend\nx\n", "cut short"},
		{"bad count", "stackha-keys 1 1001\n", "bad key count"},
		{"negative count", "stackha-keys 1 -1\n", "bad key count"},
		{"one key", "stackha-keys 1 1\n0 " + k0 + "\nend\n", "1 keys"},
		{"no staged key", "stackha-keys 1 2\n1 " + k0 + "\n2 " + k1 + "\nend\n", "no staged key 0"},
		{"twice", "stackha-keys 1 2\n0 " + k0 + "\n0 " + k1 + "\nend\n", "key 0 twice"},
		{"path as index", "stackha-keys 1 2\n0 " + k0 + "\n../x " + k1 + "\nend\n", "line 3: want INDEX KEY"},
		{"leading zero", "stackha-keys 1 2\n0 " + k0 + "\n01 " + k1 + "\nend\n", "line 3: want INDEX KEY"},
		{"short key", "stackha-keys 1 2\n0 " + k0 + "\n1 abc=\nend\n", "line 3: a key of 4 characters"},
		{"not base64", "stackha-keys 1 2\n0 " + k0 + "\n1 " + strings.Repeat("!", 44) + "\nend\n", "not a Fernet key"},
		{"too big", "stackha-keys 1 2\n" + strings.Repeat("x", MaxStream), "more than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			keys, err := Parse(strings.NewReader(tc.in))
			switch {
			case tc.want == "" && err != nil:
				t.Fatal(err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want one with %q", err, tc.want)
			case tc.want == "":
				var b bytes.Buffer
				if err := Pack(&b, keys); err != nil {
					t.Fatal(err)
				}
				again, err := Parse(&b)
				if err != nil || len(again) != len(keys) || again[0] != keys[0] {
					t.Errorf("pack then parse: %v, %v; want %v", again, err, keys)
				}
			}
		})
	}
}

// keystoneOwner is the keystone user and group, or the test needs them.
func keystoneOwner(t *testing.T) Owner {
	t.Helper()
	u, err := user.Lookup("keystone")
	if err != nil {
		require.File(t, "/etc/keystone") // the keystone package: its user
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return Owner{uid, gid}
}

// TestCopyKeystoneRepository: a repository made by keystone-manage
// fernet_setup is read and written into another directory, which is created
// for the keystone user, gets exactly those keys (mode 0600, keystone's),
// loses a stale key and keeps other files; a repository path that is a
// link is refused and its target left alone.
func TestCopyKeystoneRepository(t *testing.T) {
	require.Root(t)
	require.Command(t, "keystone-manage")
	o := keystoneOwner(t)
	tmp := t.TempDir()
	// keystone-manage drops to the keystone user, which must reach its log.
	for _, d := range []string{filepath.Dir(tmp), tmp} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	src := filepath.Join(tmp, "src", "fernet-keys")
	if err := os.Mkdir(filepath.Dir(src), 0o755); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(tmp, "keystone.conf")
	if err := os.WriteFile(conf, []byte("[fernet_tokens]\nkey_repository = "+src+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "keystone-manage", "--config-file", conf, "--log-file", filepath.Join(tmp, "ks.log"),
		"fernet_setup", "--keystone-user", "keystone", "--keystone-group", "keystone").CombinedOutput(); err != nil {
		log, _ := os.ReadFile(filepath.Join(tmp, "ks.log"))
		t.Fatalf("keystone-manage fernet_setup: %v\n%s\n%s", err, out, log)
	}
	keys, err := Read(src, o)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 {
		t.Fatalf("read %v, want keystone's staged and primary keys", keys)
	}

	dstParent := filepath.Join(tmp, "dst")
	if err := os.Mkdir(dstParent, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dstParent, o.UID, o.GID); err != nil { // as /etc/keystone: keystone's
		t.Fatal(err)
	}
	dst := filepath.Join(dstParent, "fernet-keys")
	if err := Write(dst, keys, o); err != nil {
		t.Fatal(err)
	}
	// A rotation elsewhere later: a stale key 7 here, and a file of the
	// operator's, which stays.
	if err := os.WriteFile(filepath.Join(dst, "7"), []byte(k2), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dst, "README"), []byte("mine"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Write(dst, keys, o); err != nil {
		t.Fatal(err)
	}
	names, _ := filepath.Glob(filepath.Join(dst, "*"))
	if len(names) != 3 {
		t.Errorf("%s holds %v, want 0, 1 and README", dst, names)
	}
	for _, k := range keys {
		p := filepath.Join(dst, strconv.Itoa(k.Index))
		b, err := os.ReadFile(p)
		if err != nil || string(b) != k.Key {
			t.Errorf("%s: %q, %v; want the key", p, b, err)
		}
		assertOwned(t, p, o, 0o600)
	}
	assertOwned(t, dst, o, 0o700)

	// A link planted where the repository goes: refused, target untouched.
	elsewhere := filepath.Join(tmp, "elsewhere")
	if err := os.Mkdir(elsewhere, 0o700); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dstParent, "credential-keys")
	if err := os.Symlink(elsewhere, link); err != nil {
		t.Fatal(err)
	}
	if err := Write(link, keys, o); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("writing through a link: %v, want a refusal naming the link", err)
	}
	if left, _ := os.ReadDir(elsewhere); len(left) != 0 {
		t.Errorf("the link's target got %v", left)
	}
}

func assertOwned(t *testing.T, p string, o Owner, mode os.FileMode) {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	if int(st.Uid) != o.UID || int(st.Gid) != o.GID || fi.Mode().Perm() != mode {
		t.Errorf("%s: %d:%d %v, want %d:%d %v", p, st.Uid, st.Gid, fi.Mode().Perm(), o.UID, o.GID, mode)
	}
}
