package cli

import (
	"errors"
	"fmt"
	"io"
	"os/user"
	"strconv"
	"time"

	"github.com/stackha/stackha/cmd/stackha/keys"
	"github.com/urfave/cli/v2"
)

// stdinTimeout bounds how long unpack waits for its whole stream.
const stdinTimeout = time.Minute

// keysCommand is `stackha keys pack|unpack DIR`: keystone's key
// repositories copied between nodes (docs/stateful.md).
func keysCommand(stdin io.Reader, w io.Writer) *cli.Command {
	userFlag := &cli.StringFlag{Name: "user", Value: "keystone", Usage: "the `USER` (and group of that name) owning the repository"}
	return &cli.Command{
		Name:  "keys",
		Usage: "copy a keystone key repository (fernet-keys, credential-keys) to another node, root-only, following no link",
		Description: "stackha keys pack /etc/keystone/fernet-keys | ssh root@NODE stackha keys unpack /etc/keystone/fernet-keys\n" +
			"pack writes the repository's keys to stdout; unpack reads a whole stream, checks it, then makes\n" +
			"the repository hold exactly those keys (mode 0600, owned by --user). See docs/stateful.md.",
		Subcommands: []*cli.Command{
			{
				Name: "pack", Usage: "write the keys of DIR to stdout", ArgsUsage: "DIR", Flags: []cli.Flag{userFlag},
				Action: func(c *cli.Context) error {
					dir, o, err := keysArgs(c)
					if err != nil {
						return err
					}
					k, err := keys.Read(dir, o)
					if err != nil {
						return cli.Exit("keys pack: "+err.Error(), 1)
					}
					return keys.Pack(w, k)
				},
			},
			{
				Name: "unpack", Usage: "make DIR hold exactly the keys read from stdin", ArgsUsage: "DIR", Flags: []cli.Flag{userFlag},
				Action: func(c *cli.Context) error {
					dir, o, err := keysArgs(c)
					if err != nil {
						return err
					}
					k, err := parseWithin(stdin, stdinTimeout)
					if err != nil {
						return cli.Exit("keys unpack: stdin: "+err.Error(), 1)
					}
					if err := keys.Write(dir, k, o); err != nil {
						return cli.Exit("keys unpack: "+err.Error(), 1)
					}
					fmt.Fprintf(w, "wrote %d keys into %s\n", len(k), dir)
					return nil
				},
			},
		},
	}
}

// keysArgs reads DIR and the owner.
func keysArgs(c *cli.Context) (string, keys.Owner, error) {
	if c.NArg() != 1 {
		return "", keys.Owner{}, cli.Exit("keys: want one argument, the repository DIR", 2)
	}
	u, err := user.Lookup(c.String("user"))
	if err != nil {
		return "", keys.Owner{}, cli.Exit("keys: --user: "+err.Error(), 2)
	}
	g, err := user.LookupGroup(c.String("user"))
	if err != nil {
		return "", keys.Owner{}, cli.Exit("keys: --user: "+err.Error(), 2)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(g.Gid)
	return c.Args().First(), keys.Owner{UID: uid, GID: gid}, nil
}

// parseWithin parses a stream that must arrive within d.
func parseWithin(r io.Reader, d time.Duration) ([]keys.Key, error) {
	type result struct {
		k   []keys.Key
		err error
	}
	ch := make(chan result, 1)
	go func() {
		k, err := keys.Parse(r)
		ch <- result{k, err}
	}()
	select {
	case res := <-ch:
		return res.k, res.err
	case <-time.After(d):
		return nil, errors.New("no whole stream within " + d.String() + ": nothing written")
	}
}
