// Package sysnode boots lab machines whose init is systemd, on one
// machine, for tests: each node is pid 1 of a PID namespace of its own,
// with its own mount, UTS, IPC, cgroup and network namespaces, on an
// overlay of the machine's root whose upper directory (under BaseDir,
// outside /tmp) is the node's disk. Its own /run, /tmp, /dev, journal,
// hostname and machine-id; its files in /etc where it needs its own
// (Spec.Files, Node.WriteFile); an address on TEST-NET-1 on a port of a
// switch (a bridge in its own network namespace), beside a client
// namespace from which the lab's HTTP client dials.
//
// A systemd that boots on the machine's own root runs
// systemd-tmpfiles-setup and empties the machine's /tmp, and udev works on
// the machine's devices (CLUSTER-RECIPE.md, "A node that boots systemd").
// A node therefore boots in two stages (boot.go): stage1 moves pid 1 into
// the node's cgroups and takes a cgroup namespace; stage2 mounts the
// overlay and the node's /proc (its /proc/sys read-only but for net),
// /sys (read-only), /sys/fs/cgroup (the machine's controllers read-only,
// its own subtree of the name=systemd and cgroup2 hierarchies writable),
// /dev, /run and /tmp, pivots into it, drops the machine's root, checks
// that / is the overlay and /run and /tmp are tmpfs, and only then execs
// systemd, which boots to NodeTarget (the basic system) with the units of
// Masked masked and none of the machine's enabled units.
//
// Killing a node's pid 1 is a power loss (PowerOff); Boot starts it again
// on the same disk. Close powers every node off, removes the namespaces
// (named ssn-*), the cgroups (stackha-sysnode) and BaseDir, and checks
// that nothing is left. A lab that crashed leaves state that the next New
// removes first. Labs on one machine run one at a time (a lock file).
//
// This is test support: no binary of stackha imports it.
package sysnode
