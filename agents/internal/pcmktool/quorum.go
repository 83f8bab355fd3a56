package pcmktool

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/stackha/stackha/instance"
)

// QuorumTimeout bounds one question to the controller about quorum.
const QuorumTimeout = 2 * time.Second

// QuorumCommand asks the controller whether this node's partition has
// quorum: it prints 1 or 0.
var QuorumCommand = []string{"crm_node", "--quorum"}

// Quorate reports whether this node's partition has quorum, by
// QuorumCommand run through run (Run in an agent), within QuorumTimeout.
// The answer is the first line of the output that is 1 or 0 (Run merges
// stderr, where a warning may come first): Pacemaker 2.1.5 prints 0 and
// exits with CRM_EX_QUORUM when there is none, so the exit status is not
// the answer. No crm_node, a controller that does not answer (an agent
// run by hand, a node leaving the cluster), the timeout, or any other
// output is an error: quorum unknown.
func Quorate(ctx context.Context, run func(context.Context, []string) ([]byte, error)) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, QuorumTimeout)
	defer cancel()
	out, err := run(ctx, QuorumCommand)
	if ctx.Err() != nil {
		return false, fmt.Errorf("%s: no answer within %s", strings.Join(QuorumCommand, " "), QuorumTimeout)
	}
	for _, l := range strings.Split(string(out), "\n") {
		switch strings.TrimSpace(l) {
		case "1":
			return true, nil
		case "0":
			return false, nil
		}
	}
	if err == nil {
		err = fmt.Errorf("exit status 0")
	}
	return false, fmt.Errorf("%s: %v: %s", strings.Join(QuorumCommand, " "), err, instance.Quote(strings.TrimSpace(string(out))))
}
