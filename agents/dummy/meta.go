package dummy

import (
	"time"

	"github.com/stackha/stackha/metadata"
)

// Meta declares the agent: the parameters with their types, defaults and
// ranges, and the actions with Pacemaker's advisory timeouts. meta-data,
// the man page and the parameters' checks all come from it.
var Meta = metadata.Agent{
	Name:  "dummy",
	Short: "A resource that only records that it runs (for testing constraints; the template agent)",
	Long: `Runs nothing: start records the instance's parameters in its root-only state directory (/run/stackha/<resource>/), monitor reports the resource running while that record exists, stop removes it. Like ocf:pacemaker:Dummy it lets an operator try constraints, ordering, failover and timeouts without a service; it is also the smallest complete stackha agent, the one docs/adding-an-agent.md walks through.

Every action is idempotent. When the parameters are invalid, stop and a probe work from the record alone. A record that exists but cannot be read fails stop and monitor, with a reason; remove it by hand (nothing else of the resource runs).

validate-all with OCF_CHECK_LEVEL=0 checks the parameters only; at 10, the default, also that this node can keep the record. reload-agent records changed values of a running instance without a restart.`,
	Parameters: []metadata.Parameter{
		{Name: "state", Type: metadata.String, Reloadable: true, Short: "Text to record",
			Long: `Text that start records with the resource, at most 4096 bytes; it has no other effect.`},
		{Name: "fake", Type: metadata.String, Default: "dummy", Reloadable: true, Short: "A parameter to change",
			Long: `Has no effect but being recorded: change it to see the cluster reload the agent (OCF 1.1) or restart the resource (OCF 1.0).`},
		{Name: "op_sleep", Type: metadata.Time, Default: "0", Range: &metadata.Range{Min: 0, Max: int64(time.Hour)}, Reloadable: true,
			Short: "Delay of every action",
			Long:  `How long start, stop, monitor and reload-agent wait before they act (e.g. 5s; a number alone is seconds). Set it above an operation's timeout to see how the cluster handles a timeout: the action fails just before its deadline. A stop that fails gets the node fenced.`},
	},
	Actions: []metadata.Action{
		{Name: "start", Timeout: 20 * time.Second},
		{Name: "stop", Timeout: 20 * time.Second},
		{Name: "monitor", Timeout: 20 * time.Second, Interval: 10 * time.Second},
		{Name: "reload-agent", Timeout: 20 * time.Second},
		{Name: "validate-all", Timeout: 20 * time.Second},
		{Name: "meta-data", Timeout: 5 * time.Second},
	},
}
