package instance

import (
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

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
