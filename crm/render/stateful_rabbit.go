package render

import (
	"fmt"
	"strings"
)

// RabbitMQ's user on the controllers, from a definitions file each node
// imports at every start (RabbitMQ 3.10's definitions.local.path, set in
// its conf.d). The rabbitmq-cluster agent wipes a node's data before the
// node joins (and on a cold start, before the first one boots), restoring
// users only from what it saved at a clean stop: after every node lost
// power, none was saved and the cluster came back without the services'
// user (the harness's fault 19). The file holds the password's salted
// SHA-256 (RabbitMQ's rabbit_password_hashing_sha256), made on the node by
// openstack-conf.sh from the root-only password file, never the password.

const (
	rabbitConfDir         = "/etc/rabbitmq/conf.d"
	rabbitDefinitionsPath = rabbitConfDir + "/stackha-definitions.json"
	rabbitConf            = "50-stackha.conf"
)

// rabbitDefinitions writes openstack-conf.sh's RabbitMQ part: the
// definitions file and the conf.d file that has RabbitMQ import it.
func (r *resolved) rabbitDefinitions(b *strings.Builder, n resolvedNode) {
	if r.mq == nil || !r.mq.cluster {
		return
	}
	fmt.Fprintf(b, `
# rmq_hash: RabbitMQ's rabbit_password_hashing_sha256 of $mq, base64 of a
# random 4-byte salt followed by SHA-256(salt . password).
rmq_hash() {
  local salt sum
  salt=$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
  sum=$({ printf "$(sed 's/../\\x&/g' <<<"$salt")"; printf '%%s' "$mq"; } | sha256sum | cut -c1-64)
  printf "$(sed 's/../\\x&/g' <<<"$salt$sum")" | base64 -w0
}

putin %[1]s rabbitmq %[2]s "# %[1]s/%[2]s on %[3]s, written by openstack-conf.sh (stackha render).
# RabbitMQ imports the services' user at each start (%[4]s).
definitions.import_backend = local_filesystem
definitions.local.path = %[5]s
"
putin %[1]s rabbitmq %[4]s "{\"users\": [{\"name\": \"%[6]s\", \"password_hash\": \"$(rmq_hash)\", \"hashing_algorithm\": \"rabbit_password_hashing_sha256\", \"tags\": \"\"}],
 \"vhosts\": [{\"name\": \"/\"}],
 \"permissions\": [{\"user\": \"%[6]s\", \"vhost\": \"/\", \"configure\": \".*\", \"write\": \".*\", \"read\": \".*\"}]}
"
`, rabbitConfDir, rabbitConf, n.name, strings.TrimPrefix(rabbitDefinitionsPath, rabbitConfDir+"/"), rabbitDefinitionsPath, r.mq.user)
}
