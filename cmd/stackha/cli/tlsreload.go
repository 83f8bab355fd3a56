package cli

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"time"

	"github.com/stackha/stackha/agents/haproxy"
	"github.com/stackha/stackha/ocf"
	"github.com/urfave/cli/v2"
)

// crmTimeout bounds the crm_resource call.
const crmTimeout = 30 * time.Second

// tlsReloadCommand is `stackha tls-reload`: once the operator has replaced
// the certificates on every node, it sets the haproxy resource's
// reloadable generation parameter to their digest, and Pacemaker reloads
// haproxy on every node (seamlessly: agents/haproxy/certdigest.go).
func tlsReloadCommand(w io.Writer) *cli.Command {
	return &cli.Command{
		Name:  "tls-reload",
		Usage: "after replacing the certificates on every node, have Pacemaker reload haproxy everywhere",
		Description: "Computes a digest of the certificate files haproxy's configuration names (each checked as the\n" +
			"haproxy agent checks it: root's, a private key readable by root alone) and sets the haproxy\n" +
			"resource's reloadable parameter generation to it with crm_resource: Pacemaker then reloads\n" +
			"haproxy on every node (reload-agent: the listeners pass to new workers, no connection is refused),\n" +
			"and the new workers serve the new certificates. Nothing replaced: nothing changes.\n" +
			"Run it on one node, once the files are in place on all of them.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "config", Value: "/etc/haproxy/haproxy.cfg", Usage: "haproxy's configuration `FILES` (the agent's config parameter)"},
			&cli.StringFlag{Name: "resource", Value: "haproxy", Usage: "the haproxy `PRIMITIVE` (not its clone)"},
			&cli.BoolFlag{Name: "dry-run", Usage: "print the digest, change nothing"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return cli.Exit(fmt.Sprintf("tls-reload: unexpected argument %q", c.Args().First()), 2)
			}
			paths := strings.FieldsFunc(c.String("config"), func(r rune) bool { return r == ' ' || r == ',' })
			digest, err := haproxy.CertDigest(paths)
			if err != nil {
				return cli.Exit("tls-reload: "+err.Error(), int(ocf.CodeOf(err)))
			}
			res := c.String("resource")
			if c.Bool("dry-run") {
				fmt.Fprintf(w, "certificates digest %s (would set %s's generation)\n", digest, res)
				return nil
			}
			ctx, cancel := context.WithTimeout(context.Background(), crmTimeout)
			defer cancel()
			out, err := exec.CommandContext(ctx, "crm_resource", "--resource", res,
				"--set-parameter", "generation", "--parameter-value", digest).CombinedOutput()
			if err != nil {
				return cli.Exit(fmt.Sprintf("tls-reload: crm_resource --resource %s --set-parameter generation: %v: %s",
					res, err, ocf.Sanitize(strings.TrimSpace(string(out[:min(len(out), 2048)])))), 1)
			}
			fmt.Fprintf(w, "%s's generation is %s: Pacemaker reloads haproxy on every node where it runs\n", res, digest)
			return nil
		},
	}
}
