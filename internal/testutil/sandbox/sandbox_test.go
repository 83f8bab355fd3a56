package sandbox

import (
	"context"
	"testing"
)

func TestRegisterLookup(t *testing.T) {
	f := func(ctx context.Context, dir string) (*Sandbox, error) {
		return &Sandbox{Params: map[string]string{"dir": dir}}, nil
	}
	Register("test-agent", f)
	got, ok := Lookup("test-agent")
	if !ok {
		t.Fatal("registered sandbox not found")
	}
	sb, err := got(context.Background(), "/x")
	if err != nil || sb.Params["dir"] != "/x" {
		t.Fatalf("sandbox = %+v, %v", sb, err)
	}
	if _, ok := Lookup("nobody"); ok {
		t.Fatal("unknown agent found")
	}
	defer func() {
		if recover() == nil {
			t.Fatal("second registration did not panic")
		}
	}()
	Register("test-agent", f)
}
