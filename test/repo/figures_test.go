package repo

import (
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stackha/stackha/internal/testutil"
)

// number is a figure as the docs write them: 7, 1,000, 116.48.
var number = regexp.MustCompile(`\d+(?:,\d{3})*(?:\.\d+)?`)

// section returns the part of a Markdown text under the heading whose
// anchor is frag, down to the next heading of the same or a higher level;
// all of it when frag is empty, nil when no heading has that anchor.
func section(text []byte, frag string) []byte {
	if frag == "" {
		return text
	}
	lines := strings.Split(string(text), "\n")
	hs := headings(text)
	for i, h := range hs {
		if h.slug != frag {
			continue
		}
		end := len(lines)
		for _, next := range hs[i+1:] {
			if next.level <= h.level {
				end = next.line
				break
			}
		}
		return []byte(strings.Join(lines[h.line:end], "\n"))
	}
	return nil
}

// figures are the numbers of a text.
func figures(text string) map[string]bool {
	out := map[string]bool{}
	for _, n := range number.FindAllString(text, -1) {
		out[n] = true
	}
	return out
}

// Each figure lives in one place: the README's "Figures at a glance" only
// copies them, and each row links to the section it copies from. Every
// number of a row must be in that section, as written there.
func TestReadmeFiguresAreCopies(t *testing.T) {
	root := testutil.RepoRoot(t)
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "\n## Figures at a glance\n")
	if !ok {
		return // no figures, nothing copied
	}
	rest, _, _ = strings.Cut(rest, "\n## ")
	rows := 0
	for _, line := range strings.Split(rest, "\n") {
		if !strings.HasPrefix(line, "|") || strings.HasPrefix(line, "|---") {
			continue
		}
		rows++
		if rows == 1 {
			continue // the header
		}
		var from []byte
		for _, m := range inlineLink.FindAllStringSubmatch(line, -1) {
			p, frag, _ := strings.Cut(m[1], "#")
			if p, err = url.PathUnescape(p); err != nil || p == "" || scheme.MatchString(p) {
				t.Errorf("README.md: figures row links to %q, not to a page of the tree: %s", m[1], line)
				continue
			}
			text, err := os.ReadFile(filepath.Join(root, p))
			if err != nil {
				t.Errorf("README.md: figures row links to %s: %v", m[1], err)
				continue
			}
			from = append(from, section(text, frag)...)
			from = append(from, '\n')
		}
		if from == nil {
			t.Errorf("README.md: a figures row names no page it copies from: %s", line)
			continue
		}
		have := figures(string(from))
		// the row's figures: not in code (`kill -0`) or links
		row := inlineLink.ReplaceAllString(codeSpan.ReplaceAllString(line, ""), "")
		for n := range figures(row) {
			if !have[n] {
				t.Errorf("README.md's figures at a glance quote %s, which the section they link to does not have: copy the figure from there\n  %s", n, line)
			}
		}
	}
	if rows < 2 {
		t.Error("README.md's figures at a glance hold no table row")
	}
}

func TestSection(t *testing.T) {
	text := []byte("# A\none 1\n## B\ntwo 2\n### C\nthree 3\n## D\nfour 4\n")
	for frag, want := range map[string]string{
		"b": "## B\ntwo 2\n### C\nthree 3",
		"c": "### C\nthree 3",
		"d": "## D\nfour 4\n",
		"x": "",
	} {
		if got := string(section(text, frag)); got != want {
			t.Errorf("section %q = %q, want %q", frag, got, want)
		}
	}
}
