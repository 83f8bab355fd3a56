package openstack

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/stackha/stackha/instance"
	"github.com/stackha/stackha/ocf"
)

// The drain agent, for a service without oslo.middleware's healthcheck
// (placement in Zed): haproxy cannot learn from the service itself that
// it is being drained, so each backend server also has an agent-check
// (`agent-check agent-port <drain_agent_port>`, rendered) that asks this
// helper, `stackha openstack-agent-check`, on the node's own address. It
// answers "ready" (the server's admin state back to READY, cancelling a
// drain) until stop sends it SIGUSR1, then "drain" (weight 0: haproxy
// sends the server no new request and lets the ones it holds finish).
//
// It reads nothing from the network: it accepts, writes its one word and
// closes. It is started by start once the service answers (a drained
// server comes back only when it says "ready"), recorded in the
// instance's record with its identity, restarted by a recurring monitor
// that finds it dead, and ended by stop after the service has stopped.
// While it does not run, haproxy's agent-check cannot connect, which
// changes nothing (the health check alone says up or down), so a server
// drained before a stop stays drained until the next start's agent says
// "ready".

// agentCmd is the helper the drain agent runs as.
const agentCmd = "openstack-agent-check"

// The agent's words (haproxy's agent-check replies).
const (
	agentReady = "ready\n"
	agentDrain = "drain\n"
)

// agentWait bounds start's wait for a new agent to answer, and each of
// drain's questions to it.
const agentWait = 2 * time.Second

// agentHelper is `stackha openstack-agent-check -listen ADDR:PORT`.
func agentHelper(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet(agentCmd, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	listen := fs.String("listen", "", "address:port to answer haproxy's agent-check on")
	if err := fs.Parse(args); err != nil {
		return ocf.Args("%s: %w", agentCmd, err)
	}
	if fs.NArg() > 0 {
		return ocf.Args("%s: unexpected argument %s", agentCmd, instance.Quote(fs.Arg(0)))
	}
	if _, _, err := splitListen(*listen); err != nil {
		return ocf.Args("%s: -listen: %v", agentCmd, err)
	}
	// SIGUSR1 before the handler is installed would end the process:
	// start records the agent only once it has answered, after this.
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	ctx, cancel := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer cancel()
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	return serveAgent(ctx, ln, usr1)
}

// serveAgent answers every connection to ln with "ready", or "drain" once
// drain has received something, until ctx ends.
func serveAgent(ctx context.Context, ln net.Listener, drain <-chan os.Signal) error {
	var draining atomic.Bool
	go func() {
		select {
		case <-drain:
			draining.Store(true)
		case <-ctx.Done():
		}
	}()
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			// EMFILE and the like: wait, never spin.
			time.Sleep(50 * time.Millisecond)
			continue
		}
		word := agentReady
		if draining.Load() {
			word = agentDrain
		}
		// Six bytes fit any socket buffer: the write does not block.
		c.SetDeadline(time.Now().Add(agentWait))
		c.Write([]byte(word))
		c.Close()
	}
}

// splitListen checks an agent's address:port.
func splitListen(s string) (string, int, error) {
	host, p, err := net.SplitHostPort(s)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 1 || port > 65535 {
		return "", 0, fmt.Errorf("port %s: want 1 to 65535", instance.Quote(p))
	}
	return host, port, nil
}

// agentListen is where the instance's agent listens: the service's own
// address (the host of url, which render sets to the node's) and
// drain_agent_port.
func agentListen(c *Config) string {
	return net.JoinHostPort(c.URL.Hostname(), strconv.Itoa(c.DrainAgentPort))
}

// askAgent asks the agent at addr what it tells haproxy.
func askAgent(ctx context.Context, addr string) (string, error) {
	d := net.Dialer{Timeout: agentWait}
	ctx, cancel := context.WithTimeout(ctx, agentWait)
	defer cancel()
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(agentWait))
	line, err := bufio.NewReader(io.LimitReader(conn, 64)).ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("reading its answer: %w", err)
	}
	return line, nil
}
