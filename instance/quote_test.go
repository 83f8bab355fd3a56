package instance

import (
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestQuote(t *testing.T) {
	long := strings.Repeat("a", MaxQuoted+10)
	cases := []struct {
		in, want string
	}{
		{"", `""`},
		{"vip", `"vip"`},
		{`a"b\c`, `"a\"b\\c"`},
		{"two\nlines", `"two\nlines"`},
		{"cr\rlf", `"cr\rlf"`},
		{"\x00nul", `"\x00nul"`},
		{"tab\there", `"tab\there"`},
		{"\x1b[31mred\x1b[0m", `"\x1b[31mred\x1b[0m"`},
		{"\x1b]0;title\x07", `"\x1b]0;title\a"`},
		{"del\x7f", `"del\x7f"`},
		{"csi\u009b2J", `"csi\u009b2J"`},
		{"secé", `"sec\u00e9"`},
		{"rtl\u202eevil", `"rtl\u202eevil"`},
		{"ls\u2028ps\u2029", `"ls\u2028ps\u2029"`},
		{"bad\xff\xfeutf8", `"bad\xff\xfeutf8"`},
		{"half\xe2\x82", `"half\xe2\x82"`},
		{"\ufffd", `"\ufffd"`},
		{"emoji\U0001F600", `"emoji\U0001f600"`},
		{strings.Repeat("a", MaxQuoted), `"` + strings.Repeat("a", MaxQuoted) + `"`},
		{long, `"` + strings.Repeat("a", MaxQuoted) + `"...(10 more bytes)`},
		// Cut on a character boundary: é is 2 bytes, the 256th byte would
		// split the 128th.
		{"x" + strings.Repeat("é", MaxQuoted/2), `"x` + strings.Repeat(`\u00e9`, MaxQuoted/2-1) + `"...(2 more bytes)`},
		{strings.Repeat("a", MaxQuoted-1) + "é", `"` + strings.Repeat("a", MaxQuoted-1) + `"...(2 more bytes)`},
		{strings.Repeat("a", MaxQuoted-2) + "\U0001F600", `"` + strings.Repeat("a", MaxQuoted-2) + `"...(4 more bytes)`},
		{strings.Repeat("a", MaxQuoted-1) + "\xc3xyz", `"` + strings.Repeat("a", MaxQuoted-1) + `\xc3"...(3 more bytes)`},
		{strings.Repeat("\n", MaxQuoted+1), `"` + strings.Repeat(`\n`, MaxQuoted) + `"...(1 more bytes)`},
	}
	for _, c := range cases {
		got := Quote(c.in)
		if got != c.want {
			t.Errorf("Quote(%q) =\n %s\nwant\n %s", c.in, got, c.want)
		}
		if !printableASCII(got) {
			t.Errorf("Quote(%q) = %q: not printable ASCII", c.in, got)
		}
	}
}

// A cut never loses more than a character's worth of bytes, whatever the
// bytes are: not even a run of bytes that are never a character's start.
func TestQuoteCutKeepsTheText(t *testing.T) {
	for _, s := range []string{
		strings.Repeat("\x80", MaxQuoted+50),
		strings.Repeat("\xbf", 2*MaxQuoted),
		strings.Repeat("a", MaxQuoted-1) + strings.Repeat("\x80", 10),
		strings.Repeat("é", MaxQuoted),
		strings.Repeat("\U0001F600", MaxQuoted),
	} {
		got := Quote(s)
		i := strings.LastIndex(got, `"...(`)
		if i < 0 {
			t.Fatalf("Quote(%d bytes) = %s: not marked as cut", len(s), got)
		}
		kept, err := strconv.Unquote(got[:i+1])
		if err != nil {
			t.Fatalf("Quote(%d bytes) = %s: %v", len(s), got, err)
		}
		if len(kept) < MaxQuoted-(utf8.UTFMax-1) || len(kept) > MaxQuoted || !strings.HasPrefix(s, kept) {
			t.Errorf("Quote(%q) kept %d bytes (%q), want a prefix of %d to %d", s, len(kept), kept, MaxQuoted-utf8.UTFMax+1, MaxQuoted)
		}
		if want := "...(" + strconv.Itoa(len(s)-len(kept)) + " more bytes)"; !strings.HasSuffix(got, want) {
			t.Errorf("Quote(%d bytes) = %s: want the suffix %s", len(s), got, want)
		}
	}
}

func FuzzQuote(f *testing.F) {
	for _, s := range []string{"", "vip", "a\nb", "\x1b[2J", "\xff", "secé", strings.Repeat("é", 200),
		strings.Repeat("\x80", 300), "\u202e", "\"\\"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Quote(s)
		if !printableASCII(got) {
			t.Fatalf("Quote(%q) = %q: not printable ASCII", s, got)
		}
		// At most 10 bytes (\U0001f600) per byte kept, the quotes and the
		// mark.
		if len(got) > 10*MaxQuoted+64 {
			t.Fatalf("Quote(%d bytes) is %d bytes long", len(s), len(got))
		}
		// What is quoted unquotes to the input, or to a prefix of it when
		// cut.
		q := got
		if i := strings.LastIndex(got, `"...(`); i >= 0 && len(s) > MaxQuoted {
			q = got[:i+1]
		}
		back, err := strconv.Unquote(q)
		if err != nil {
			t.Fatalf("Quote(%q) = %s: does not unquote: %v", s, got, err)
		}
		if len(s) <= MaxQuoted && back != s || !strings.HasPrefix(s, back) {
			t.Fatalf("Quote(%q) = %s unquotes to %q", s, got, back)
		}
		if len(s) > MaxQuoted && len(back) < MaxQuoted-(utf8.UTFMax-1) {
			t.Fatalf("Quote(%q) kept only %d bytes", s, len(back))
		}
	})
}
