package pcmktool

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestQuorate(t *testing.T) {
	for _, tc := range []struct {
		name    string
		out     string
		err     error
		hang    bool
		want    bool
		wantErr string
	}{
		{name: "quorum", out: "1\n", want: true},
		{name: "no quorum: 2.1.5 prints 0 and exits CRM_EX_QUORUM", out: "0\n", err: errors.New("exit status 3")},
		{name: "controller down", out: "error: Could not connect to controller: Connection refused\n", err: errors.New("exit status 102"), wantErr: "Connection refused"},
		{name: "not installed", err: errors.New(`exec: "crm_node": executable file not found in $PATH`), wantErr: "executable file not found"},
		{name: "other output, exit 0", out: "yes\n", wantErr: "exit status 0"},
		{name: "a warning first (stderr merged)", out: "warning: something\n1\n", want: true},
		{name: "hangs", hang: true, wantErr: "no answer within"},
		{name: "long output capped in the error", out: strings.Repeat("x", 5000), wantErr: "more bytes)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var argv []string
			run := func(ctx context.Context, a []string) ([]byte, error) {
				argv = a
				if tc.hang {
					<-ctx.Done()
					return nil, ctx.Err()
				}
				return []byte(tc.out), tc.err
			}
			ctx := context.Background()
			if tc.hang {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, 10*time.Millisecond)
				defer cancel()
			}
			got, err := Quorate(ctx, run)
			if strings.Join(argv, " ") != "crm_node --quorum" {
				t.Errorf("ran %q", argv)
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want one containing %q", err, tc.wantErr)
				}
				if len(err.Error()) > 400 {
					t.Errorf("error of %d bytes: %.80s...", len(err.Error()), err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Quorate = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}
