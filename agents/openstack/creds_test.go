package openstack

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stackha/stackha/internal/testutil/require"
	"github.com/stackha/stackha/ocf"
)

const secret = "sho-s3cret-Pa55"

func TestParseCredentials(t *testing.T) {
	clouds := `# clouds.yaml
clouds:
  prod:
    auth:
      auth_url: http://192.0.2.10:5000/v3
      username: admin
      password: "` + secret + `"
      project_name: admin
      user_domain_name: Default
      project_domain_name: Default
    region_name: RegionOne
  lab:
    auth:
      username: demo
      password: x
      project_name: demo
`
	one := "clouds:\n  only:\n    auth:\n      username: u\n      password: pw-only-cloud\n      project_name: pr\n"
	cases := []struct {
		name, body, cloud string
		want              Credentials
		err               string
	}{
		{"openrc", "export OS_AUTH_URL=http://192.0.2.10:5000/v3\nexport OS_USERNAME=admin\nexport OS_PASSWORD='" + secret +
			"'\nexport OS_PROJECT_NAME=admin\nexport OS_USER_DOMAIN_NAME=Default\n# comment\n\nOS_PROJECT_DOMAIN_NAME=\"dom\"\nOS_REGION_NAME=RegionOne\n", "",
			Credentials{AuthURL: "http://192.0.2.10:5000/v3", Username: "admin", Password: secret, ProjectName: "admin", UserDomainName: "Default", ProjectDomainName: "dom"}, ""},
		{"lower case keys", "username=a\npassword=b=c\ntenant_name=t\n", "",
			Credentials{Username: "a", Password: "b=c", ProjectName: "t", UserDomainName: "Default", ProjectDomainName: "Default"}, ""},
		{"clouds.yaml named", clouds, "prod",
			Credentials{AuthURL: "http://192.0.2.10:5000/v3", Username: "admin", Password: secret, ProjectName: "admin", UserDomainName: "Default", ProjectDomainName: "Default"}, ""},
		{"clouds.yaml only cloud", one, "", Credentials{Username: "u", Password: "pw-only-cloud", ProjectName: "pr", UserDomainName: "Default", ProjectDomainName: "Default"}, ""},
		{"clouds.yaml numeric values as written", "clouds:\n  only:\n    auth:\n      username: 0x1F\n      password: 0123\n      project_name: 1.0\n", "",
			Credentials{Username: "0x1F", Password: "0123", ProjectName: "1.0", UserDomainName: "Default", ProjectDomainName: "Default"}, ""},
		{"clouds.yaml ambiguous", clouds, "", Credentials{}, "has clouds lab, prod: set the cloud parameter"},
		{"clouds.yaml unknown cloud", clouds, "staging", Credentials{}, `no cloud "staging"`},
		{"clouds.yaml broken", "clouds:\n  prod:\n    auth: [password: " + secret + "\n", "", Credentials{}, "not a valid clouds.yaml"},
		{"clouds.yaml type error", "clouds:\n  prod: " + secret + "\n", "", Credentials{}, "not a valid clouds.yaml"},
		{"not key=value", "OS_USERNAME admin " + secret + "\n", "", Credentials{}, "line 1 is not key=value"},
		{"no password", "OS_USERNAME=admin\nOS_PROJECT_NAME=admin\n", "", Credentials{}, "lacks password"},
		{"empty", "", "", Credentials{}, "lacks username, password, project_name"},
	}
	dir := t.TempDir()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_"))
			if err := os.WriteFile(f, []byte(tc.body), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := LoadCredentials(f, tc.cloud)
			if os.Geteuid() != 0 {
				// only root can own the file as root; the parse is
				// checked as root (CI)
				if err == nil || !strings.Contains(err.Error(), "must be owned by root") {
					t.Fatalf("a file owned by uid %d accepted: %v", os.Geteuid(), err)
				}
				return
			}
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || ocf.CodeOf(err) != ocf.ErrConfigured {
					t.Fatalf("got %v, %v; want exit 6 with %q", got, err, tc.err)
				}
				if strings.Contains(err.Error(), secret) {
					t.Fatalf("the error quotes the password: %v", err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %#v, %v; want %#v", got, err, tc.want)
			}
			for _, s := range []string{got.String(), fmt.Sprintf("%v %+v %#v %s", got, got, got, got)} {
				if strings.Contains(s, tc.want.Password) {
					t.Fatalf("formatting the credentials shows the password: %s", s)
				}
			}
		})
	}
}

// TestCredentialFilePermissions: a credentials file others can access, or
// not owned by root, is refused with exit 6 and a reason.
func TestCredentialFilePermissions(t *testing.T) {
	require.Root(t)
	dir := t.TempDir()
	body := []byte("OS_USERNAME=admin\nOS_PASSWORD=" + secret + "\nOS_PROJECT_NAME=admin\n")
	cases := []struct {
		mode     os.FileMode
		uid, gid int
		reason   string
	}{
		{0o600, 0, 0, ""},
		{0o400, 0, 0, ""},
		// docs/security.md, "Files": a group may not read it either
		{0o640, 0, 65534, "has mode 0640: group and others must have no access"},
		{0o660, 0, 0, "has mode 0660"},
		{0o644, 0, 0, "has mode 0644: group and others must have no access"},
		{0o602, 0, 0, "has mode 0602"},
		{0o601, 0, 0, "has mode 0601"},
		{0o600, 65534, 0, "is owned by uid 65534: it must be owned by root"},
	}
	for _, tc := range cases {
		f := filepath.Join(dir, fmt.Sprintf("c-%o-%d", tc.mode, tc.uid))
		os.WriteFile(f, body, 0o600)
		os.Chmod(f, tc.mode)
		os.Chown(f, tc.uid, tc.gid)
		_, err := LoadCredentials(f, "")
		if tc.reason == "" {
			if err != nil {
				t.Errorf("mode %o uid %d: %v", tc.mode, tc.uid, err)
			}
			continue
		}
		if err == nil || ocf.CodeOf(err) != ocf.ErrConfigured || !strings.Contains(err.Error(), tc.reason) {
			t.Errorf("mode %o uid %d: %v, want exit 6 with %q", tc.mode, tc.uid, err, tc.reason)
		}
	}
	link := filepath.Join(dir, "link")
	os.Symlink(filepath.Join(dir, "c-600-0"), link)
	if _, err := LoadCredentials(link, ""); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("a link as credentials: %v", err)
	}
	if _, err := LoadCredentials(dir, ""); err == nil || ocf.CodeOf(err) != ocf.ErrConfigured {
		t.Errorf("a directory as credentials: %v", err)
	}
	if _, err := LoadCredentials(filepath.Join(dir, "missing"), ""); err == nil || ocf.CodeOf(err) != ocf.ErrConfigured {
		t.Errorf("a missing credentials file: %v", err)
	}
}

// TestDepth20AgainstFakes drives depth 20 against a fake keystone and a
// fake service: the token request's body, the token on the service call,
// the project id in the path, and every refusal.
func TestDepth20AgainstFakes(t *testing.T) {
	require.Root(t) // the credentials file must be owned by root
	var gotBody map[string]any
	var gotToken string
	ks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v3/auth/tokens" {
			http.NotFound(w, r)
			return
		}
		json.NewDecoder(r.Body).Decode(&gotBody)
		b, _ := json.Marshal(gotBody)
		if !strings.Contains(string(b), `"password":"`+secret+`"`) {
			w.WriteHeader(401)
			fmt.Fprint(w, `{"error": {"code": 401, "message": "The request you have made requires authentication."}}`)
			return
		}
		w.Header().Set("X-Subject-Token", "tok-123")
		w.WriteHeader(201)
		fmt.Fprint(w, `{"token": {"project": {"id": "p-42", "name": "admin"}}}`)
	}))
	defer ks.Close()
	svcStatus := 200
	svc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" {
			w.WriteHeader(300)
			fmt.Fprint(w, `{"versions": [{"id": "v3.0"}]}`)
			return
		}
		gotToken = r.Header.Get("X-Auth-Token") + " " + r.URL.Path
		w.WriteHeader(svcStatus)
		fmt.Fprint(w, `{"volume_types": []}`)
	}))
	defer svc.Close()
	dir := t.TempDir()
	good := filepath.Join(dir, "good.rc")
	os.WriteFile(good, []byte("OS_USERNAME=admin\nOS_PASSWORD="+secret+"\nOS_PROJECT_NAME=admin\n"), 0o600)
	bad := filepath.Join(dir, "bad.rc")
	os.WriteFile(bad, []byte("OS_USERNAME=admin\nOS_PASSWORD=sho-wrong\nOS_PROJECT_NAME=admin\n"), 0o600)

	useSystemd(t, &fakeSystemd{units: map[string]*UnitState{"cinder-api.service": loaded("active")}}, nil)
	base := map[string]string{"url": svc.URL + "/", "keystone_url": ks.URL, "credentials": good}
	d20 := runOpts{timeoutMS: 5000, intervalMS: 60000, depth: 20}
	logf := filepath.Join(dir, "agent.log")
	d20.logFile = logf

	wantCode(t, "depth 20", runAgent(t, "cinder-api", "monitor", base, d20), ocf.Success)
	if gotToken != "tok-123 /v3/p-42/types" {
		t.Errorf("service call: %q, want the token and the project id in the path", gotToken)
	}
	b, _ := json.Marshal(gotBody)
	for _, want := range []string{`"methods":["password"]`, `"name":"admin"`, `"domain":{"name":"Default"}`, `"scope":{"project"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("token request lacks %s: %s", want, b)
		}
	}
	r := runAgent(t, "cinder-api", "monitor", merge(base, map[string]string{"credentials": bad}), d20)
	wantCode(t, "wrong password", r, ocf.ErrGeneric, "refused the credentials of user admin", "HTTP 401")
	svcStatus = 403
	wantCode(t, "service refuses the token", runAgent(t, "cinder-api", "monitor", base, d20), ocf.ErrGeneric, "authenticated GET", "HTTP 403")
	svcStatus = 200
	wantCode(t, "no credentials", runAgent(t, "cinder-api", "monitor", merge(base, map[string]string{"credentials": ""}), d20),
		ocf.ErrConfigured, "needs the credentials parameter")
	wantCode(t, "no keystone", runAgent(t, "cinder-api", "monitor", merge(base, map[string]string{"keystone_url": ""}), d20),
		ocf.ErrConfigured, "needs keystone_url")
	wantCode(t, "keystone silent", runAgent(t, "cinder-api", "monitor", merge(base, map[string]string{"keystone_url": silentServer(t)}),
		runOpts{timeoutMS: 1500, intervalMS: 60000, depth: 20}), ocf.ErrGeneric, "keystone token", "no answer in")
	wantCode(t, "depth 0 ignores credentials", runAgent(t, "cinder-api", "monitor", merge(base, map[string]string{"credentials": bad}),
		runOpts{timeoutMS: 5000, intervalMS: 10000}), ocf.Success)
	log, _ := os.ReadFile(logf)
	if len(log) == 0 || strings.Contains(string(log), secret) {
		t.Errorf("agent log empty or holds the password:\n%s", log)
	}
}

func FuzzParseKeyValue(f *testing.F) {
	f.Add("export OS_PASSWORD='x'\nOS_USERNAME=a\n")
	f.Add("clouds:\n  a:\n    auth:\n      password: x\n")
	f.Add("=\n#\n'")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := parseKeyValue([]byte(s))
		if err != nil && c != (Credentials{}) {
			t.Fatalf("error with credentials: %v", err)
		}
		if _, err := parseCloudsYAML([]byte(s), ""); err != nil && c.Password != "" && strings.Contains(err.Error(), c.Password) {
			t.Fatalf("YAML error quotes the password: %v", err)
		}
	})
}

// docs/security.md, "Files": a FIFO as credentials file is refused at once with exit 6;
// before, opening it blocked validate and monitor until their deadline.
// (The guard below is a hang detector, not a timing assertion.)
func TestCredentialsFIFO(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "creds")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := LoadCredentials(fifo, "")
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || ocf.CodeOf(err) != ocf.ErrConfigured || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("a FIFO: %v (%s), want exit 6, not a regular file", err, ocf.CodeOf(err))
		}
	case <-time.After(time.Minute):
		// unblock the reader so the test binary can end
		if w, err := os.OpenFile(fifo, os.O_WRONLY, 0); err == nil {
			w.Close()
		}
		t.Fatal("LoadCredentials blocks on a FIFO")
	}
}
