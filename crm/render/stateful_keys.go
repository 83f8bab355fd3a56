package render

import (
	"fmt"
	"path"
	"strings"
)

// keystone's key repositories on every node without a shared filesystem
// (docs/stateful.md): made once on the first node, rotated there by a
// timer, and copied to the others by `stackha keys pack | ssh NODE stackha
// keys unpack` after each rotation and every hour (a node that was down
// gets the current set within the hour).

const (
	keysScript  = "usr/local/lib/stackha/keystone-keys.sh"
	keysService = "etc/systemd/system/keystone-keys@.service"
	keysRotate  = "etc/systemd/system/keystone-keys-rotate.timer"
	keysSync    = "etc/systemd/system/keystone-keys-sync.timer"
	stackhaBin  = "/usr/sbin/stackha"
)

// keystoneKeyFiles adds the key rotation and copy files to the first
// node's files, when keystone is one of the services.
func (r *resolved) keystoneKeyFiles(f Files, n resolvedNode, dir string, readme *strings.Builder) {
	keystone := false
	for _, s := range r.services {
		keystone = keystone || s.name == "keystone"
	}
	if !keystone {
		return
	}
	if n.name != r.nodes[0].name {
		fmt.Fprintf(readme, "#   keystone's keys come from %s (its keystone-keys timers): nothing to do here\n", r.nodes[0].name)
		fmt.Fprintf(readme, "#   but let %s log in as root by ssh (a key of its own, no password).\n", r.nodes[0].name)
		return
	}
	f[path.Join(dir, keysScript)] = []byte(r.keysScriptText(n))
	f[path.Join(dir, keysService)] = []byte(unitText(n, "keystone's key repositories: %i (rotate or sync)",
		"[Service]\nType=oneshot\nExecStart=/"+keysScript+" %i\n"))
	f[path.Join(dir, keysRotate)] = []byte(unitText(n, "rotate keystone's fernet keys daily, then copy them",
		"[Timer]\nOnCalendar=daily\nRandomizedDelaySec=1h\nPersistent=true\nUnit=keystone-keys@rotate.service\n\n[Install]\nWantedBy=timers.target\n"))
	f[path.Join(dir, keysSync)] = []byte(unitText(n, "copy keystone's key repositories to the other controllers hourly",
		"[Timer]\nOnCalendar=hourly\nPersistent=true\nUnit=keystone-keys@sync.service\n\n[Install]\nWantedBy=timers.target\n"))
	fmt.Fprintf(readme, `#   keystone's keys, made here once and copied to every node (no shared
#   filesystem): keystone-manage fernet_setup --keystone-user keystone
#   --keystone-group keystone; keystone-manage credential_setup (the same
#   options); install %s (mode 0755),
#   %s,
#   %s and %s; give this node
#   root ssh access to the others; /%s sync; then
#   systemctl enable --now keystone-keys-rotate.timer keystone-keys-sync.timer
`, keysScript, keysService, keysRotate, keysSync, keysScript)
}

func unitText(n resolvedNode, what, body string) string {
	var b strings.Builder
	header(&b, "#", "keystone's key repositories on "+n.name)
	fmt.Fprintf(&b, "[Unit]\nDescription=%s\n\n%s", what, body)
	return b.String()
}

func (r *resolved) keysScriptText(n resolvedNode) string {
	var others []string
	for _, o := range r.nodes[1:] {
		others = append(others, o.addr.String())
	}
	var b strings.Builder
	b.WriteString("#!/usr/bin/env bash\n")
	header(&b, "#", "keystone's key repositories, kept on "+n.name+" and copied to the other controllers")
	fmt.Fprintf(&b, `#
# keystone-keys.sh rotate: rotate the fernet keys, then copy. Safe in this
# order: the new primary key is the staged key (0) every node got at the
# last copy, so the others validate its tokens before they get the new set.
# keystone-keys.sh sync: copy only (fernet-keys and credential-keys), to
# every other node; one that is down gets the set at the next run. The
# credential keys are not rotated here: that needs keystone-manage
# credential_migrate against the database (docs/stateful.md).
set -euo pipefail
others=(%s)
case "${1:-}" in
rotate)
  keystone-manage fernet_rotate --keystone-user keystone --keystone-group keystone
  repos=(/etc/keystone/fernet-keys) ;;
sync) repos=(/etc/keystone/fernet-keys /etc/keystone/credential-keys) ;;
*) echo "usage: $0 rotate|sync" >&2; exit 2 ;;
esac
failed=0
for node in "${others[@]}"; do
  for repo in "${repos[@]}"; do
    if ! %s keys pack "$repo" | timeout 60 ssh -o BatchMode=yes -o ConnectTimeout=10 "root@$node" %s keys unpack "$repo"; then
      echo "keystone-keys.sh: $repo not copied to $node" >&2
      failed=1
    fi
  done
done
exit "$failed"
`, strings.Join(others, " "), stackhaBin, stackhaBin)
	return b.String()
}
