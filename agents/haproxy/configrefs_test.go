package haproxy

import (
	"bytes"
	"fmt"
	"os/exec"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stackha/stackha/internal/testutil/require"
)

// refLine is a FileRef as the tests compare it.
func refLine(r FileRef) string {
	if r.Problem != "" {
		return fmt.Sprintf("%s %s: problem", r.Directive, r.Raw)
	}
	return fmt.Sprintf("%s %s %d", r.Directive, r.Path, r.Kind)
}

func TestScanRefs(t *testing.T) {
	for _, tc := range []struct {
		name, cfg string
		want      []string
	}{
		{"lua", "global\n lua-load /etc/haproxy/a.lua\n lua-load-per-thread b.lua\n lua-prepend-path /usr/share/hx/?.lua\n lua-prepend-path /x/lib?.so cpath\n", []string{
			"lua-load /etc/haproxy/a.lua 0", "lua-load-per-thread /b.lua 0",
			"lua-prepend-path /usr/share/hx 5", "lua-prepend-path /x 5"}},
		{"globals", "global\n ssl-dh-param-file /etc/dh.pem\n h1-case-adjust-file /etc/h1\n issuers-chain-path /etc/iss\n ssl-provider-path /opt/prov\n httpclient.ssl.ca-file @system-ca\n stats socket ipv4@:9999 ssl crt /s.pem level admin\n", []string{
			"ssl-dh-param-file /etc/dh.pem 1", "h1-case-adjust-file /etc/h1 1", "issuers-chain-path /etc/iss 5", "ssl-provider-path /opt/prov 5", "stats socket crt /s.pem 3"}},
		{"bases", "global\n crt-base /etc/ssl/hx\n ca-base /etc/ssl/ca\nfrontend f\n bind :443 ssl crt site.pem crt /abs.pem ca-file ca.pem crl-file /crl.pem crt-list list.txt tls-ticket-keys /t.keys ca-sign-file sign.pem ca-verify-file v.pem\n", []string{
			"bind crt /etc/ssl/hx/site.pem 3", "bind crt /abs.pem 3", "bind ca-file /etc/ssl/ca/ca.pem 1", "bind crl-file /crl.pem 1",
			"bind crt-list /list.txt 4", "bind tls-ticket-keys /t.keys 2", "bind ca-sign-file /etc/ssl/ca/sign.pem 2", "bind ca-verify-file /etc/ssl/ca/v.pem 1"}},
		{"an option's argument is no option", "frontend f\n bind :443 name crt ssl crt /a.pem\n bind crt-list:1 id 3\nbackend b\n server crt 10.0.0.1:443 ssl crt /c.pem ca-file @system-ca sni str(crt)\n server-template crt 3 x:443 crt /d.pem\n default-server crt /e.pem\n", []string{
			"bind crt /a.pem 3", "server crt /c.pem 3", "server-template crt /d.pem 3", "default-server crt /e.pem 3"}},
		{"peers", "peers p\n peer a 10.0.0.1:1024 ssl crt /p.pem\n bind :1024 ssl crt /q.pem\n", []string{"peer crt /p.pem 3", "bind crt /q.pem 3"}},
		{"acl and maps", "frontend f\n acl bad src -f /etc/bad.lst -f /etc/bad2.lst\n acl h req.hdr(host),map_dom(/etc/hosts.map) -m found\n http-request deny if { src -f /etc/deny.lst }\n use_backend %[req.hdr(host),lower,map(/etc/be.map,default)]\n http-request set-header X \"%[src,map_ip(/etc/ip.map)]\"\n http-request set-map(/etc/runtime.map) %[src] 1\n", []string{
			"acl -f /etc/bad.lst 1", "acl -f /etc/bad2.lst 1", "map_dom /etc/hosts.map 1", "acl -f /etc/deny.lst 1", "map /etc/be.map 1", "map_ip /etc/ip.map 1"}},
		{"a map path with a comma quoted", `frontend f
 use_backend "%[src,map_str('/etc/a,b.map',x)]"
`, []string{"map_str /etc/a,b.map 1"}},
		{"error pages", "http-errors e\n errorfile 503 /etc/e/503.http\ndefaults\n errorfile 500 /etc/e/500.http\nfrontend f\n http-request return status 200 file /etc/ok.txt if TRUE\n http-request deny errorfile /etc/deny.http\n http-response return lf-file /etc/lf.txt\n http-error status 404 errorfile /etc/404.http\n", []string{
			"errorfile /etc/e/503.http 1", "errorfile /etc/e/500.http 1", "http-request file /etc/ok.txt 1",
			"http-request errorfile /etc/deny.http 1", "http-response lf-file /etc/lf.txt 1", "http-error errorfile /etc/404.http 1"}},
		{"programs and filters", "program p\n command /usr/bin/dataplaneapi -f /x.cfg\nprogram q\n command dataplaneapi\nbackend b\n external-check command /usr/lib/check.sh\n filter spoe engine e config /etc/spoe.conf\n filter opentracing config /etc/ot.cfg\n", []string{
			"program command /usr/bin/dataplaneapi 0", "program command dataplaneapi: problem", "external-check command /usr/lib/check.sh 0",
			"filter spoe config /etc/spoe.conf 1", "filter opentracing config /etc/ot.cfg 1"}},
		{"environment variables", "global\n lua-load \"${HOME}/x.lua\"\n", []string{"lua-load ${HOME}/x.lua: problem"}},
		{"default-path", "global\n default-path config\n lua-load x.lua\n crt-base rel\nfrontend f\n bind :1 ssl crt c.pem\n", []string{
			"lua-load /etc/hx/x.lua 0", "bind crt /etc/hx/rel/c.pem 3"}},
		{"default-path origin", "global\n default-path origin /srv/hx\n lua-load ../x.lua\n", []string{"lua-load /srv/hx/../x.lua 0"}},
		{"nothing read", "global\n stats socket /run/hx.sock\n userlist u\n user a password map(/x)\nprogram p\n user nobody\n", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseConfig("/etc/hx/haproxy.cfg", strings.NewReader(tc.cfg))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range c.Refs {
				got = append(got, refLine(r))
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("refs:\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

// TestOptionArgsMatchHaproxy compares the options the reader knows to take
// an argument with the installed haproxy's own keyword table, so that an
// haproxy that adds one is noticed.
func TestOptionArgsMatchHaproxy(t *testing.T) {
	require.File(t, haproxyBin)
	var out bytes.Buffer
	cmd := exec.Command(haproxyBin, "-dKall", "-q", "-c", "-f", "/dev/null")
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Run()
	re := regexp.MustCompile(`^\t(?:bind <addr>|server <name> <addr>) (?:ssl )?(\S+) \+`)
	have := map[string]bool{}
	for _, l := range strings.Split(out.String(), "\n") {
		if m := re.FindStringSubmatch(l); m != nil {
			have[m[1]] = true
		}
	}
	if len(have) == 0 {
		if require.InCI() {
			t.Fatalf("%s -dKall lists no bind or server keyword:\n%s", haproxyBin, out.String())
		}
		t.Skipf("SKIP: %s -dKall lists no bind or server keyword (older than 2.6?)", haproxyBin)
	}
	var missing, extra []string
	for k := range have {
		if _, _, file := sslFile(k); !takesArg(k) && !file {
			missing = append(missing, k)
		}
	}
	for _, k := range strings.Fields(optionArgWords) {
		if !have[k] {
			extra = append(extra, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 {
		t.Errorf("haproxy's options with an argument that optionArgs lacks: %v", missing)
	}
	if len(extra) > 0 {
		t.Logf("optionArgs has options this haproxy does not know (another version's): %v", extra)
	}
}
