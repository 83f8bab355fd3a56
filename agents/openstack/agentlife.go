package openstack

import (
	"context"
	"fmt"
	"syscall"
	"time"

	"github.com/stackha/stackha/instance"
	"github.com/stackha/stackha/ocf"
)

// The drain agent's life (agentcheck.go), with drain_agent_port set: start
// ends a recorded one first (a failed stop may have left one saying
// "drain"), and starts a new one once the service answers; a start whose
// agent does not answer fails (haproxy would keep a drained server out for
// good). A recurring monitor that finds the service up starts a new one
// when the recorded one has ended. Stop makes it say "drain" (drain.go),
// and ends it once the service has stopped. Every one of these runs under
// the instance's lock; the record is saved without the agent before the
// agent is signalled.

// agentStartWait bounds start's wait for a new agent to answer.
const agentStartWait = 5 * time.Second

// endAgent ends the recorded agent, after saving the record without it.
func endAgent(c *Config, log *ocf.Logger) {
	rec, err := loadRecord(c.Instance, c.Profile.Name)
	if err != nil || rec == nil || rec.Agent == nil {
		return
	}
	a := *rec.Agent
	rec.Agent = nil
	if err := saveRecord(c.Instance, c.Profile.Name, rec); err != nil {
		log.Warnf("drain agent %d: the record could not be updated (%v); ending it all the same", a.PID, err)
	}
	if err := a.Signal(syscall.SIGTERM); err != nil {
		log.Warnf("drain agent %d: %v", a.PID, err)
		return
	}
	// Gone before a new one binds its port (start, a monitor's restart).
	if !a.WaitGone(context.Background(), time.Now().Add(agentWait)) {
		log.Warnf("drain agent %d did not end within %s of SIGTERM", a.PID, agentWait)
		return
	}
	log.Debugf("ended drain agent %d", a.PID)
}

// ensureAgent makes the recorded agent the one the parameters ask for:
// none without drain_agent_port; else one that runs, started anew when
// the recorded one has ended.
func ensureAgent(ctx context.Context, r *ocf.Request, c *Config) error {
	rec, err := loadRecord(c.Instance, c.Profile.Name)
	if err != nil {
		return err
	}
	if rec == nil {
		return nil
	}
	if c.DrainAgentPort == 0 || c.DrainTimeout == 0 {
		endAgent(c, r.Log)
		return nil
	}
	if rec.Agent != nil && rec.Agent.Check() == nil {
		return nil
	}
	if rec.Agent != nil {
		r.Log.Infof("drain agent %d has ended: starting another", rec.Agent.PID)
		endAgent(c, r.Log)
	}
	addr := agentListen(c)
	if word, err := askAgent(ctx, addr); err == nil {
		return fmt.Errorf("drain agent: something this instance did not start already answers %s at %s", instance.Quote(word), addr)
	}
	id, err := instance.SpawnSelf(r.Self, []string{agentCmd, "-listen", addr}, []string{}, "/")
	if err != nil {
		return fmt.Errorf("drain agent: %w", err)
	}
	ready := false
	for t0 := time.Now(); time.Since(t0) < agentStartWait && ctx.Err() == nil; {
		if id.Check() != nil {
			break
		}
		if word, err := askAgent(ctx, addr); err == nil && word == agentReady {
			ready = true
			break
		}
		ocf.Sleep(ctx, 50*time.Millisecond)
	}
	if !ready {
		id.Signal(syscall.SIGTERM)
		return fmt.Errorf("drain agent on %s did not answer within %s (is drain_agent_port %d taken?)", addr, agentStartWait, c.DrainAgentPort)
	}
	rec.Agent = &id
	if err := saveRecord(c.Instance, c.Profile.Name, rec); err != nil {
		id.Signal(syscall.SIGTERM)
		return fmt.Errorf("drain agent %d not recorded, ended: %w", id.PID, err)
	}
	r.Log.Infof("drain agent %d tells haproxy's agent-check %q on %s", id.PID, "ready", addr)
	return nil
}

// agentDrains makes the recorded agent say "drain" and checks that it
// does: nil once haproxy's next agent-check will take the service out.
func agentDrains(ctx context.Context, c *Config) error {
	rec, err := loadRecord(c.Instance, c.Profile.Name)
	if err != nil {
		return err
	}
	if rec == nil || rec.Agent == nil {
		return fmt.Errorf("no drain agent recorded: haproxy is not told (was %s started with drain_agent_port?)", c.Profile.Name)
	}
	if err := rec.Agent.Signal(syscall.SIGUSR1); err != nil {
		return fmt.Errorf("drain agent %d: %w", rec.Agent.PID, err)
	}
	addr := agentListen(c)
	var last error
	for t0 := time.Now(); time.Since(t0) < agentWait; {
		word, err := askAgent(ctx, addr)
		if err == nil && word == agentDrain {
			return nil
		}
		last = err
		if err == nil {
			last = fmt.Errorf("it answers %s", instance.Quote(word))
		}
		if ocf.Sleep(ctx, 20*time.Millisecond) != nil {
			break
		}
	}
	return fmt.Errorf("drain agent on %s: %v", addr, last)
}
