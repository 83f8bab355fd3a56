package haproxy

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// scaleStat is a show stat answer for n backends of 3 servers, with
// haproxy 2.6's full column set (status is the 18th of 100-odd columns).
func scaleStat(n int) string {
	cols := make([]string, 100)
	for i := range cols {
		cols[i] = fmt.Sprintf("c%d", i)
	}
	cols[0], cols[1], cols[17] = "pxname", "svname", "status"
	var b strings.Builder
	b.WriteString("# " + strings.Join(cols, ",") + "\n")
	row := func(px, sv, st string) {
		f := make([]string, 100)
		for i := range f {
			f[i] = "0"
		}
		f[0], f[1], f[17] = px, sv, st
		b.WriteString(strings.Join(f, ",") + "\n")
	}
	row("fe", "FRONTEND", "OPEN")
	for i := 0; i < n; i++ {
		be := fmt.Sprintf("be-%d", i)
		for j := 1; j <= 3; j++ {
			row(be, fmt.Sprintf("s%d", j), "UP")
		}
		row(be, "BACKEND", "UP")
	}
	return b.String()
}

func scaleConfigText(n int) string {
	var b strings.Builder
	b.WriteString("global\n    stats socket /run/x.sock level admin\ndefaults\n    mode http\nfrontend fe\n    bind 127.0.0.1:80\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "backend be-%d\n", i)
		for j := 1; j <= 3; j++ {
			fmt.Fprintf(&b, "    server s%d 127.0.0.1:%d check inter 30s\n", j, 8000+j)
		}
	}
	return b.String()
}

func BenchmarkJudge1000(b *testing.B) {
	text := scaleStat(1000)
	b.SetBytes(int64(len(text)))
	for i := 0; i < b.N; i++ {
		rows, err := ParseShowStat(text)
		if err != nil {
			b.Fatal(err)
		}
		if j := judgeStats(rows, nil, nil); j.failed != "" || j.degraded != "" {
			b.Fatal(j)
		}
	}
}

func BenchmarkLoadConfig1000(b *testing.B) {
	p := filepath.Join(b.TempDir(), "h.cfg")
	os.WriteFile(p, []byte(scaleConfigText(1000)), 0o644)
	for i := 0; i < b.N; i++ {
		if _, err := LoadConfig([]string{p}); err != nil {
			b.Fatal(err)
		}
	}
}
