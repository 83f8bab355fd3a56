package render

import (
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// Corosync holds the membership layer's settings (corosync 3, knet).
type Corosync struct {
	// ClusterName is totem's cluster_name, Pacemaker's cluster-name
	// (default stackha).
	ClusterName string `yaml:"cluster_name"`
	// Token is how long a node waits for the token before it declares a
	// loss (default 3s, corosync's own). With three nodes or more,
	// corosync adds token_coefficient (650 ms) per node beyond two.
	Token Duration `yaml:"token"`
	// TokenCoefficient is what corosync adds to the token per node beyond
	// two (default: corosync's own, 650 ms). 0 keeps the token as given
	// on any number of nodes: a node loss is declared after token +
	// consensus whatever the cluster's size.
	TokenCoefficient *Duration `yaml:"token_coefficient"`
	// Consensus is how long a new membership may take to agree; at least
	// 1.2 × token. Default: left to corosync, which takes 1.2 × the token
	// it computed.
	Consensus Duration `yaml:"consensus"`
	// Crypto encrypts and authenticates every packet (aes256, sha256) with
	// the key in KeyFile (default on). Off only for a lab that cannot
	// share a key, such as the test harness.
	Crypto *bool `yaml:"crypto"`
	// KeyFile is the shared key (default /etc/corosync/authkey, made by
	// corosync-keygen).
	KeyFile string `yaml:"key_file"`
}

const (
	defaultClusterName = "stackha"
	defaultKeyFile     = "/etc/corosync/authkey"
	defaultCorosyncLog = "/var/log/corosync/corosync.log"
	minNodes, maxNodes = 2, 16
)

var (
	defaultToken       = Duration(3 * time.Second)
	minToken, maxToken = Duration(100 * time.Millisecond), Duration(60 * time.Second)
	maxConsensus       = Duration(120 * time.Second)
	clusterNamePattern = &lazyRegexp{expr: `^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$`}
)

// rings resolves each node's corosync link addresses: ring0_addr (default
// its address) and ring1_addr, which every node has or none. A link's
// addresses are unique and of one IP family.
func (x *resolver) rings() {
	byName := map[string]*resolvedNode{}
	for i := range x.r.nodes {
		byName[x.r.nodes[i].name] = &x.r.nodes[i]
	}
	for ring := 0; ring < 2; ring++ {
		seen := map[netip.Addr]int{}
		have := -1 // a node with this ring's address, for the message
		var family string
		for i := range x.t.Nodes {
			n := &x.t.Nodes[i]
			field, v := fmt.Sprintf("nodes[%d].ring%d_addr", i, ring), &n.Ring0Addr
			if ring == 1 {
				v = &n.Ring1Addr
			}
			rn := byName[n.Name]
			if ring == 0 && *v == "" {
				if rn == nil {
					continue // its address is wrong, and said so
				}
				*v = rn.addr.String()
			}
			if *v == "" {
				continue
			}
			have = i
			a, ok := x.addr(field, *v, seen, i)
			if !ok {
				continue
			}
			fam := "IPv4"
			if a.Is6() {
				fam = "IPv6"
			}
			if family == "" {
				family = fam
			} else if fam != family {
				x.bad.add(field, "%s is %s, the link's other addresses %s: one family per link", a, fam, family)
			}
			if rn != nil {
				rn.rings = append(rn.rings, a)
			}
		}
		if ring == 1 && have >= 0 {
			for i, n := range x.t.Nodes {
				if n.Ring1Addr == "" {
					x.bad.add(fmt.Sprintf("nodes[%d].ring1_addr", i), "missing: nodes[%d] has one, and a second link needs an address on every node", have)
				}
			}
		}
	}
}

func (x *resolver) corosync() {
	c := &x.t.Corosync
	x.text("corosync.cluster_name", &c.ClusterName, defaultClusterName, clusterNamePattern, "a cluster name (up to 32 letters, digits, '_' or '-')")
	if c.Token == 0 {
		c.Token = defaultToken
	}
	x.span("corosync.token", c.Token, minToken, maxToken)
	if c.TokenCoefficient != nil {
		x.span("corosync.token_coefficient", *c.TokenCoefficient, 0, maxToken)
	}
	if c.Consensus != 0 && (c.Consensus < c.Token*6/5 || c.Consensus > maxConsensus) {
		x.bad.add("corosync.consensus", "%s is out of range: at least 1.2 × token (%s), at most %s", c.Consensus, c.Token*6/5, maxConsensus)
	}
	if c.Crypto == nil {
		on := true
		c.Crypto = &on
	}
	x.text("corosync.key_file", &c.KeyFile, defaultKeyFile, pathPattern, plainPath)
}

// Corosync renders corosync.conf.
func (r *resolved) Corosync() string {
	c := r.t.Corosync
	var b strings.Builder
	header(&b, "#", "corosync's configuration (corosync 3, knet): /etc/corosync/corosync.conf on every node")
	if *c.Crypto {
		fmt.Fprintf(&b, `#
# Every packet is encrypted (aes256) and authenticated (sha256) with one key,
# the same on every node: make it once, on one node, then copy it to the
# others, root-only:
#   corosync-keygen -k %[1]s
#   scp -p %[1]s OTHER-NODE:%[1]s    (mode 0400, owner root)
# Check this file on each node before starting corosync (the node must hold
# one of the addresses below): corosync -t
`, c.KeyFile)
	} else {
		b.WriteString(`#
# LAB MODE: crypto off (corosync.crypto: false in the topology). Anyone on the
# ring's network can read the membership traffic and forge it. Production
# leaves crypto on and shares a key made by corosync-keygen.
`)
	}
	fmt.Fprintf(&b, "\ntotem {\n    version: 2\n    cluster_name: %s\n    transport: knet\n", c.ClusterName)
	fmt.Fprintf(&b, "    # A node that misses the token this long is declared lost (ms).")
	token := time.Duration(c.Token).Milliseconds()
	var coef int64
	if c.TokenCoefficient != nil {
		coef = time.Duration(*c.TokenCoefficient).Milliseconds()
	}
	switch {
	case c.TokenCoefficient != nil:
		b.WriteString("\n    # token_coefficient: added per node beyond two (corosync's default 650 ms)")
		if len(r.nodes) > 2 {
			fmt.Fprintf(&b, ";\n    # with %d nodes: %d ms in all.", len(r.nodes), token+coef*int64(len(r.nodes)-2))
		} else {
			b.WriteString(".")
		}
	case len(r.nodes) > 2:
		fmt.Fprintf(&b, "\n    # With %d nodes corosync adds token_coefficient (650 ms) per node beyond\n    # two: %d ms in all.", len(r.nodes), token+650*int64(len(r.nodes)-2))
	}
	fmt.Fprintf(&b, "\n    token: %d\n", token)
	if c.TokenCoefficient != nil {
		fmt.Fprintf(&b, "    token_coefficient: %d\n", coef)
	}
	if c.Consensus != 0 {
		fmt.Fprintf(&b, "    consensus: %d\n", time.Duration(c.Consensus).Milliseconds())
	} else {
		b.WriteString("    # consensus: not set, corosync takes 1.2 × the token above.\n")
	}
	if *c.Crypto {
		fmt.Fprintf(&b, "    crypto_cipher: aes256\n    crypto_hash: sha256\n    keyfile: %s\n", c.KeyFile)
	} else {
		b.WriteString("    crypto_cipher: none\n    crypto_hash: none\n")
	}
	b.WriteString("}\n\nnodelist {\n")
	for i, n := range r.nodes {
		fmt.Fprintf(&b, "    node {\n        name: %s\n        nodeid: %d\n", n.name, i+1)
		for j, a := range n.rings {
			fmt.Fprintf(&b, "        ring%d_addr: %s\n", j, a)
		}
		b.WriteString("    }\n")
	}
	b.WriteString("}\n\nquorum {\n    provider: corosync_votequorum\n")
	if len(r.nodes) == 2 {
		b.WriteString(`    # Two nodes: the survivor of a node loss keeps quorum. two_node turns on
    # wait_for_all: after a full stop both nodes must be seen once before the
    # cluster runs anything.
`)
		if len(r.fencing) > 0 {
			b.WriteString("    # A ring break is a fence race, won by the VIP's node (cluster.crm).\n")
		} else {
			b.WriteString("    # LAB MODE: without fencing both halves of a broken ring keep running.\n")
		}
		b.WriteString("    two_node: 1\n")
	}
	fmt.Fprintf(&b, "}\n\nlogging {\n    to_syslog: yes\n    to_logfile: yes\n    logfile: %s\n    timestamp: on\n}\n", defaultCorosyncLog)
	return b.String()
}
