package openstack

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
	"golang.org/x/sys/unix"

	"github.com/stackha/stackha/instance"
	"github.com/stackha/stackha/ocf"
)

// Credentials are what depth 20 authenticates with. Password is never
// formatted into an error or a log line: String leaves it out.
type Credentials struct {
	AuthURL           string
	Username          string
	Password          string
	ProjectName       string
	UserDomainName    string
	ProjectDomainName string
}

// String describes the credentials without the password.
func (c Credentials) String() string {
	return fmt.Sprintf("user %s (domain %s), project %s (domain %s)", c.Username, c.UserDomainName, c.ProjectName, c.ProjectDomainName)
}

// GoString keeps %#v from printing the password too.
func (c Credentials) GoString() string { return "Credentials{" + c.String() + "}" }

// maxCredentials bounds what is read of a credentials file.
const maxCredentials = 1 << 20

// LoadCredentials reads the credentials file: a regular file (a link, a
// FIFO or a device is refused at once, without blocking) in directories
// owned by root that no one else can write, owned by root,
// readable and writable by root only (mode 0600 or 0400: a group may not
// read it either), at most 1 MiB; a clouds.yaml or key=value lines. Errors
// are configuration errors (exit 6) and never quote the file's content.
func LoadCredentials(path, cloud string) (Credentials, error) {
	if err := instance.CheckPath("credentials", path); err != nil {
		return Credentials{}, ocf.Configured("%w", err)
	}
	// its directories as root reads them (instance.RootOnly): root's, and
	// no one else can write them, opened one by one without a link
	d, err := instance.OpenDir(filepath.Dir(path), instance.RootOnly)
	if err != nil {
		return Credentials{}, ocf.Configured("credentials file %s: %v", path, err)
	}
	defer d.Close()
	fd, err := unix.Openat(d.Fd(), filepath.Base(path), unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.ELOOP) {
			return Credentials{}, ocf.Configured("credentials file %s is a symbolic link: name the file itself", path)
		}
		return Credentials{}, ocf.Configured("credentials file %s: %v", path, err)
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return Credentials{}, ocf.Configured("credentials file %s: %v", path, err)
	}
	switch perm := st.Mode & 0o7777; {
	case st.Mode&unix.S_IFMT != unix.S_IFREG:
		return Credentials{}, ocf.Configured("credentials file %s is not a regular file", path)
	case st.Uid != 0:
		return Credentials{}, ocf.Configured("credentials file %s is owned by uid %d: it must be owned by root", path, st.Uid)
	case perm&0o077 != 0:
		return Credentials{}, ocf.Configured("credentials file %s has mode %04o: group and others must have no access (chmod 600)", path, perm)
	case st.Size > maxCredentials:
		return Credentials{}, ocf.Configured("credentials file %s is larger than %d bytes", path, maxCredentials)
	}
	b, err := readLimited(f, maxCredentials)
	if err != nil {
		return Credentials{}, ocf.Configured("credentials file %s: %v", path, err)
	}
	var c Credentials
	if looksLikeCloudsYAML(b) {
		c, err = parseCloudsYAML(b, cloud)
	} else {
		c, err = parseKeyValue(b)
	}
	if err != nil {
		return Credentials{}, ocf.Configured("credentials file %s: %v", path, err)
	}
	if c.UserDomainName == "" {
		c.UserDomainName = "Default"
	}
	if c.ProjectDomainName == "" {
		c.ProjectDomainName = "Default"
	}
	var missing []string
	for _, m := range []struct{ name, v string }{{"username", c.Username}, {"password", c.Password}, {"project_name", c.ProjectName}} {
		if m.v == "" {
			missing = append(missing, m.name)
		}
	}
	if len(missing) > 0 {
		return Credentials{}, ocf.Configured("credentials file %s lacks %s", path, strings.Join(missing, ", "))
	}
	return c, nil
}

func readLimited(f io.Reader, max int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("larger than %d bytes", max)
	}
	return b, nil
}

func looksLikeCloudsYAML(b []byte) bool {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "#") || l == "---" {
			continue
		}
		return strings.HasPrefix(l, "clouds:")
	}
	return false
}

type cloudsFile struct {
	Clouds map[string]struct {
		Auth struct {
			AuthURL           string `yaml:"auth_url"`
			Username          string `yaml:"username"`
			Password          string `yaml:"password"`
			ProjectName       string `yaml:"project_name"`
			UserDomainName    string `yaml:"user_domain_name"`
			ProjectDomainName string `yaml:"project_domain_name"`
		} `yaml:"auth"`
	} `yaml:"clouds"`
}

// parseCloudsYAML reads one cloud of a clouds.yaml. The YAML library's
// errors can quote the document, so only a generic message leaves here.
func parseCloudsYAML(b []byte, cloud string) (Credentials, error) {
	var cf cloudsFile
	if err := yaml.Unmarshal(b, &cf); err != nil {
		return Credentials{}, fmt.Errorf("not a valid clouds.yaml (YAML error not shown: it could quote the password)")
	}
	if len(cf.Clouds) == 0 {
		return Credentials{}, fmt.Errorf("clouds.yaml names no cloud")
	}
	var names []string
	for n := range cf.Clouds {
		names = append(names, n)
	}
	sort.Strings(names)
	if cloud == "" {
		if len(names) > 1 {
			return Credentials{}, fmt.Errorf("clouds.yaml has clouds %s: set the cloud parameter", strings.Join(names, ", "))
		}
		cloud = names[0]
	}
	cl, ok := cf.Clouds[cloud]
	if !ok {
		return Credentials{}, fmt.Errorf("clouds.yaml has no cloud %q (it has %s)", cloud, strings.Join(names, ", "))
	}
	a := cl.Auth
	return Credentials{AuthURL: a.AuthURL, Username: a.Username, Password: a.Password, ProjectName: a.ProjectName,
		UserDomainName: a.UserDomainName, ProjectDomainName: a.ProjectDomainName}, nil
}

// parseKeyValue reads KEY=value lines (an openrc's "export" is allowed,
// quotes around the value are removed); names are OS_* or their
// lower-case clouds.yaml spelling. Unknown keys are ignored.
func parseKeyValue(b []byte) (Credentials, error) {
	var c Credentials
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		l = strings.TrimSpace(strings.TrimPrefix(l, "export "))
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			return Credentials{}, fmt.Errorf("line %d is not key=value", line)
		}
		k = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(k), "OS_"))
		v = strings.TrimSpace(v)
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		switch k {
		case "auth_url":
			c.AuthURL = v
		case "username":
			c.Username = v
		case "password":
			c.Password = v
		case "project_name", "tenant_name":
			c.ProjectName = v
		case "user_domain_name":
			c.UserDomainName = v
		case "project_domain_name":
			c.ProjectDomainName = v
		}
	}
	if err := sc.Err(); err != nil {
		return Credentials{}, fmt.Errorf("line %d: %v", line+1, err)
	}
	return c, nil
}

// token is a keystone v3 token.
type token struct {
	ID        string
	ProjectID string
}

// issueToken asks keystone v3 for a project-scoped token with a password.
// The password travels only in the request body; no error repeats it.
func issueToken(ctx context.Context, client *http.Client, keystone string, cr Credentials) (token, error) {
	body := map[string]any{"auth": map[string]any{
		"identity": map[string]any{
			"methods": []string{"password"},
			"password": map[string]any{"user": map[string]any{
				"name": cr.Username, "domain": map[string]string{"name": cr.UserDomainName}, "password": cr.Password,
			}},
		},
		"scope": map[string]any{"project": map[string]any{
			"name": cr.ProjectName, "domain": map[string]string{"name": cr.ProjectDomainName},
		}},
	}}
	b, err := json.Marshal(body)
	if err != nil {
		return token{}, ocf.Generic("encoding the token request: %w", err)
	}
	req, err := http.NewRequest(http.MethodPost, keystone+"/auth/tokens", bytes.NewReader(b))
	if err != nil {
		return token{}, ocf.Configured("keystone url %s: %v", keystone, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "stackha/"+ocf.Version)
	a, err := do(ctx, client, req, 0)
	if err != nil {
		return token{}, fmt.Errorf("keystone token: %w", err)
	}
	switch {
	case a.status == http.StatusUnauthorized:
		return token{}, ocf.Generic("keystone at %s refused the credentials of %s (HTTP 401): wrong user name or password, or the user has no role on the project", keystone, cr)
	case a.status != http.StatusCreated && a.status != http.StatusOK:
		return token{}, ocf.Generic("keystone at %s: token request for %s answered HTTP %s", keystone, cr, a.statusText)
	}
	t := token{ID: a.header.Get("X-Subject-Token")}
	if t.ID == "" {
		return token{}, ocf.Generic("keystone at %s answered %d without an X-Subject-Token", keystone, a.status)
	}
	var doc struct {
		Token struct {
			Project struct {
				ID string `json:"id"`
			} `json:"project"`
		} `json:"token"`
	}
	if json.Unmarshal(a.body, &doc) == nil {
		t.ProjectID = doc.Token.Project.ID
	}
	return t, nil
}

// checkAuthenticated runs depth 20: a token, then one authenticated GET on
// the service.
func checkAuthenticated(ctx context.Context, client *http.Client, c *Config, log *ocf.Logger) error {
	if c.Credentials == "" {
		return ocf.Configured("monitor depth 20 needs the credentials parameter (a root-only clouds.yaml or key=value file)")
	}
	cr, err := LoadCredentials(c.Credentials, c.Cloud)
	if err != nil {
		return err
	}
	ks, err := c.keystoneV3(cr.AuthURL)
	if err != nil {
		return err
	}
	t, err := issueToken(ctx, client, ks, cr)
	if err != nil {
		return err
	}
	log.Debugf("depth 20: keystone %s issued a token for %s", ks, cr)
	if c.AuthPath == "" {
		return nil
	}
	path := c.AuthPath
	if strings.Contains(path, "{project_id}") {
		if t.ProjectID == "" {
			return ocf.Generic("auth_path %s needs the project id, and keystone's token names none", c.AuthPath)
		}
		path = strings.ReplaceAll(path, "{project_id}", t.ProjectID)
	}
	u := c.serviceBase() + path
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return ocf.Configured("auth_path %s: %v", c.AuthPath, err)
	}
	req.Header.Set("X-Auth-Token", t.ID)
	if c.Profile.Name == "keystone" {
		// keystone's authenticated call validates the token itself
		req.Header.Set("X-Subject-Token", t.ID)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "stackha/"+ocf.Version)
	a, err := do(ctx, client, req, 0)
	if err != nil {
		return err
	}
	if a.status < 200 || a.status > 299 {
		return ocf.Generic("authenticated GET %s: HTTP %s%s", redact(u), a.statusText, excerpt(a))
	}
	return nil
}
