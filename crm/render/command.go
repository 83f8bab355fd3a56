package render

import (
	"fmt"

	"github.com/stackha/stackha/ocf"
	"github.com/urfave/cli/v2"
)

func init() {
	ocf.RegisterCommand(&cli.Command{
		Name:  "render",
		Usage: "render a cluster configuration (crmsh, pcs, haproxy.cfg, endpoints) from a topology file",
		Description: "Reads one YAML topology (vip, nodes, services, haproxy, cluster) and writes\n" +
			"cluster.crm, cluster.pcs.sh, haproxy.cfg and endpoints.sh into the output directory.\n" +
			"A topology with an error writes nothing. See crm/README.md.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "topology", Aliases: []string{"t"}, Usage: "the topology `FILE` (YAML)", Required: true},
			&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Usage: "the output `DIR` (created when missing)", Required: true},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return cli.Exit(fmt.Sprintf("render: unexpected argument %q", c.Args().First()), 2)
			}
			files, err := RenderFile(c.String("topology"), c.String("out"))
			if err != nil {
				return cli.Exit("render: "+err.Error(), 1)
			}
			for _, n := range files.Names() {
				fmt.Fprintf(c.App.Writer, "wrote %s\n", n)
			}
			return nil
		},
	})
}
