package instance

import (
	"strconv"
	"unicode/utf8"
)

// MaxQuoted is how many bytes of an untrusted string Quote keeps.
const MaxQuoted = 256

// Quote is the one way text from outside (a parameter, a file or socket a
// service can write, a process's command line) enters a reason or a log
// line: cut to MaxQuoted bytes on a character boundary, marked when cut,
// and quoted with every control character, invalid byte and non-ASCII
// character escaped. The result is one line of printable ASCII that cannot
// forge a log line or a terminal sequence.
func Quote(s string) string {
	if len(s) <= MaxQuoted {
		return strconv.QuoteToASCII(s)
	}
	cut := MaxQuoted
	// Move the cut back to the start of a character it would split; bytes
	// that are no character (escaped one by one) are cut anywhere.
	for i := 1; i < utf8.UTFMax && !utf8.RuneStart(s[cut]); i++ {
		if utf8.RuneStart(s[cut-i]) {
			if r, n := utf8.DecodeRuneInString(s[cut-i:]); r != utf8.RuneError && n > i {
				cut -= i
			}
			break
		}
	}
	return strconv.QuoteToASCII(s[:cut]) + "...(" + strconv.Itoa(len(s)-cut) + " more bytes)"
}
