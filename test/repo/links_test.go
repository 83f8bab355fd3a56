// Package repo holds the tests of rules about the repository itself rather
// than about a package: every relative link of the documentation leads
// somewhere, and the packaging tool's modules stay out of the agents'
// go.mod. No root, no network.
package repo

import (
	"bufio"
	"bytes"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"

	"github.com/stackha/stackha/internal/testutil"
)

// markdownFiles lists the tracked .md files, relative to root (every .md
// file outside hidden directories and bin/ when git cannot say).
func markdownFiles(t *testing.T, root string) []string {
	t.Helper()
	cmd := exec.Command("git", "ls-files", "-z", "--", "*.md")
	cmd.Dir = root
	if out, err := cmd.Output(); err == nil && len(out) > 0 {
		return strings.Split(strings.TrimRight(string(out), "\x00"), "\x00")
	}
	var files []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() && rel != "." && (strings.HasPrefix(d.Name(), ".") || rel == "bin") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(path, ".md") {
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

var (
	fence      = regexp.MustCompile("^ {0,3}(```|~~~)")
	codeSpan   = regexp.MustCompile("`+[^`]*`+")
	inlineLink = regexp.MustCompile(`!?\[(?:[^\]\\]|\\.)*\]\(\s*(<[^>]*>|[^)\s]*)(?:\s+"[^"]*")?\s*\)`)
	refDef     = regexp.MustCompile(`^ {0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)`)
	atxHeading = regexp.MustCompile(`^ {0,3}(#{1,6})\s+(.*?)(?:\s+#+)?\s*$`)
	htmlAnchor = regexp.MustCompile(`<a\s[^>]*(?:name|id)="([^"]+)"`)
	scheme     = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*:`)
)

// link is one link target of a Markdown file, with its line.
type link struct {
	line   int
	target string
}

// links returns the link targets of a Markdown text: inline links and
// images, and reference definitions; never what sits in a fenced code block
// or a code span.
func links(text []byte) []link {
	var out []link
	inFence := false
	sc := bufio.NewScanner(bytes.NewReader(text))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if fence.MatchString(line) {
			inFence = !inFence
			continue
		}
		if inFence {
			continue
		}
		line = codeSpan.ReplaceAllString(line, "")
		for _, m := range inlineLink.FindAllStringSubmatch(line, -1) {
			out = append(out, link{n, strings.Trim(m[1], "<>")})
		}
		if m := refDef.FindStringSubmatch(line); m != nil {
			out = append(out, link{n, strings.Trim(m[1], "<>")})
		}
	}
	return out
}

// heading is an ATX heading of a Markdown text: its level, its anchor (see
// anchors) and its line (0-based).
type heading struct {
	level int
	slug  string
	line  int
}

// headings returns the headings of a Markdown text outside fenced code
// blocks, with their anchors as GitHub makes them: the text lower-cased,
// without punctuation, spaces turned into hyphens, a repeated one suffixed
// -1, -2, ...
func headings(text []byte) []heading {
	var out []heading
	seen := map[string]int{}
	inFence := false
	for i, line := range strings.Split(string(text), "\n") {
		if fence.MatchString(line) {
			inFence = !inFence
			continue
		}
		m := atxHeading.FindStringSubmatch(line)
		if inFence || m == nil {
			continue
		}
		base := slug(m[2])
		s := base
		if k := seen[base]; k > 0 {
			s = fmt.Sprintf("%s-%d", base, k)
		}
		seen[base]++
		out = append(out, heading{level: len(m[1]), slug: s, line: i})
	}
	return out
}

// anchors returns the fragments a Markdown text answers to: its headings'
// anchors and explicit <a name|id="..."> anchors.
func anchors(text []byte) map[string]bool {
	out := map[string]bool{}
	for _, h := range headings(text) {
		out[h.slug] = true
	}
	for _, m := range htmlAnchor.FindAllSubmatch(text, -1) {
		out[string(m[1])] = true
	}
	return out
}

var linkText = regexp.MustCompile(`!?\[((?:[^\]\\]|\\.)*)\]\([^)]*\)`)

// slug is GitHub's anchor for a heading's text: the rendered text (a
// link's text, no code or emphasis marks) lower-cased, with letters,
// digits, '-' and '_' kept, spaces turned into '-', the rest dropped.
func slug(heading string) string {
	heading = linkText.ReplaceAllString(heading, "$1")
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_':
			b.WriteRune(r)
		case r == ' ':
			b.WriteByte('-')
		}
	}
	return b.String()
}

// broken says what is wrong with a relative link target of the file at
// rel (relative to root), or "" when it leads somewhere: the file or
// directory exists inside the tree and, for a Markdown file, the fragment
// names one of its headings.
func broken(root, rel, target string) string {
	if target == "" || scheme.MatchString(target) || strings.HasPrefix(target, "//") {
		return "" // empty, or another site
	}
	p, frag, _ := strings.Cut(target, "#")
	p, err := url.PathUnescape(p)
	if err != nil {
		return fmt.Sprintf("%s: %v", target, err)
	}
	var path string
	switch {
	case p == "":
		path = filepath.Join(root, rel)
	case strings.HasPrefix(p, "/"): // GitHub: from the top of the tree
		path = filepath.Join(root, p)
	default:
		path = filepath.Join(root, filepath.Dir(rel), p)
	}
	inside, err := filepath.Rel(root, path)
	if err != nil || inside == ".." || strings.HasPrefix(inside, "../") {
		return fmt.Sprintf("%s: leads out of the tree", target)
	}
	if _, err := os.Stat(path); err != nil {
		return fmt.Sprintf("%s: no such file (%s)", target, filepath.ToSlash(inside))
	}
	if frag == "" || !strings.HasSuffix(path, ".md") {
		return ""
	}
	text, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("%s: %v", target, err)
	}
	if !anchors(text)[frag] {
		return fmt.Sprintf("%s: %s has no heading or anchor #%s", target, filepath.ToSlash(inside), frag)
	}
	return ""
}

// Every relative link in the README and the docs (every tracked .md file)
// leads to a file or directory of the tree, and a #fragment into a
// Markdown file to one of its headings.
func TestMarkdownLinks(t *testing.T) {
	root := testutil.RepoRoot(t)
	files := markdownFiles(t, root)
	if len(files) == 0 {
		t.Fatal("no .md file found")
	}
	checked := 0
	for _, rel := range files {
		text, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range links(text) {
			checked++
			if why := broken(root, rel, l.target); why != "" {
				t.Errorf("%s:%d: broken link %s", rel, l.line, why)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no link found: the parser is broken")
	}
}

func TestLinksAndAnchorsParse(t *testing.T) {
	text := []byte("# Top `stackha render`\n" +
		"See [a](docs/a.md#x), ![img](i.png \"title\") and [b](<with space.md>).\n" +
		"`[not](a-link.md)` and [ext](https://example.com/x.md).\n" +
		"```\n[in a fence](fenced.md)\n# not a heading\n```\n" +
		"[ref]: ref.md\n" +
		"## haproxy's depth-10 monitor (1,000 backends)\n" +
		"## OpenStack API agents\n## OpenStack API agents\n" +
		"### [linked](x.md) token_coefficient ###\n" +
		"<a name=\"explicit\"></a>\n")
	var got []string
	for _, l := range links(text) {
		got = append(got, fmt.Sprintf("%d:%s", l.line, l.target))
	}
	want := []string{"2:docs/a.md#x", "2:i.png", "2:with space.md", "3:https://example.com/x.md", "8:ref.md", "12:x.md"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("links:\n got %v\nwant %v", got, want)
	}
	a := anchors(text)
	for _, s := range []string{"top-stackha-render", "haproxys-depth-10-monitor-1000-backends",
		"openstack-api-agents", "openstack-api-agents-1", "linked-token_coefficient", "explicit"} {
		if !a[s] {
			t.Errorf("no anchor %q in %v", s, a)
		}
	}
	if a["not-a-heading"] {
		t.Error("a heading inside a fence counted")
	}
}
