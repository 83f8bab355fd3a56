package fence

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// BuildAgent builds fence_shc (static, CGO_ENABLED=0) at outPath, with the
// go tool of PATH, from this package's source tree.
func BuildAgent(ctx context.Context, outPath string) error {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return errors.New("fence: cannot locate the agent's source")
	}
	// By import path: under -trimpath (make's programs are built so) the
	// caller's file is a module path, not a directory, and the go command
	// then resolves the package from the current directory's module.
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", outPath, "github.com/stackha/stackha/test/cluster/fence/cmd/fence_shc")
	if filepath.IsAbs(file) {
		cmd.Dir = filepath.Dir(file)
	}
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("building %s: %w: %s", AgentName, err, strings.TrimSpace(string(out)))
	}
	return nil
}
