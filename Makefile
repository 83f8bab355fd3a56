# stackha: build, test, install. `make check` runs every test tier as root.
# sudo resets PATH (secure_path): fall back to the usual Go install.
GO       ?= $(shell command -v go 2>/dev/null || echo /usr/local/go/bin/go)
export PATH := $(patsubst %/,%,$(dir $(GO))):$(PATH)
PREFIX   ?= /usr
DESTDIR  ?=
# The version, from one place: a vX.Y.Z tag on the commit, else the VERSION
# file (+git<count>.<commit> between releases). The package, `stackha
# version` and every agent's meta-data carry the same string.
VERSION  ?= $(shell sh packaging/version.sh)
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
BIN      := bin/stackha
# Every agent run pays for the start-up of all that is linked in:
# urfave_cli_no_docs leaves out the man/markdown generator (and blackfriday's
# init); nethttpomithttp2 leaves out net/http's bundled HTTP/2 (hpack's
# tables and the maps it builds at init), which the API agents' client never
# speaks (its own TLS config and dialer, no ForceAttemptHTTP2). The tests in
# test/install build with the same tags.
TAGS     ?= urfave_cli_no_docs nethttpomithttp2
# The same flags for the binary and for every program the targets below
# build with `go run` or `go build` (demo, bench-vip, bench-haproxy,
# bench-haproxy-scale, bench-steady, bench-failover, the packager): compiled
# packages are cached per set of flags, so one set lets them share the
# cache, and a cold `make demo` compiles the common packages once, not
# twice. The `go test` targets (test, check, bench-openstack,
# cluster-faults) build test binaries, with flags of their own.
BUILDFLAGS := -tags '$(TAGS)' -trimpath
LIBEXEC  := $(PREFIX)/lib/stackha
OCFDIR   := $(PREFIX)/lib/ocf/resource.d/stackha
MANDIR   := $(PREFIX)/share/man/man7
COMMIT   ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS  := -s -w -X github.com/stackha/stackha/ocf.Version=$(VERSION) -X github.com/stackha/stackha/ocf.Commit=$(COMMIT)
export CGO_ENABLED := 0

.PHONY: all build test check deps deps-demo lint install uninstall bench demo clean readme bench-openstack deb rpm
.PHONY: bench-failover cluster-faults bench-fresh-demo cluster-systemd cluster-stateful

all: build

build:
	$(GO) build $(BUILDFLAGS) -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/stackha

# Unit tests: no root needed; tests that need root skip and say so. As root
# (the test packages installed) it runs every tier, two packages at a time;
# those that boot nodes take turns (docs/testing.md, `go test ./...` as root).
test:
	$(GO) test ./...

STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
# deadcode lists functions that no program and no test reaches, and exits 0
# even when it lists some: any output fails lint.
DEADCODE ?= golang.org/x/tools/cmd/deadcode@v0.53.0
lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { gofmt -l .; echo "gofmt: files above need formatting"; exit 1; }
	$(GO) vet ./...
	$(GO) -C packaging vet ./...
	$(GO) run $(STATICCHECK) ./...
	$(GO) -C packaging run $(STATICCHECK) ./...
	@echo '$(GO) run $(DEADCODE) -test ./... (and in packaging)'
	@out=$$($(GO) run $(DEADCODE) -test ./... && $(GO) -C packaging run $(DEADCODE) -test ./...) || exit 1; \
	test -z "$$out" || { echo "$$out"; echo "deadcode: nothing calls the functions above, not even a test: remove them"; exit 1; }

# Every tier (unit, root/namespace, conformance, cluster), as root. Installs
# the Debian packages the tests need when they are missing. STACKHA_ALL_TIERS
# turns a missing prerequisite into a failure instead of a skip. Then the
# loaded cluster once (cluster-loaded, below): a busy controller is the
# normal case.
check: deps lint build
	chmod -R go+rX bin
	CGO_ENABLED=1 STACKHA_ALL_TIERS=1 $(GO) test -race -p 1 -count=1 -timeout 40m ./...
	$(MAKE) cluster-loaded
	$(MAKE) cluster-systemd
	$(MAKE) cluster-stateful STATEFUL_FAULTS=16,18,19,20

# The cluster tier again on nodes that boot systemd (the production path,
# run by make check, so in CI: about 6 minutes): what `stackha render`
# writes, corosync, Pacemaker, keystone, placement-api, cinder-api and
# glance-api from their Debian units; three fenced nodes with faults 9-11
# and 13-15, two with fault 12 (faults_test.go, faultShapes), a client
# issuing keystone tokens beside the one reading (SHC_WRITES: fault 14
# fails on any failed write, the resets of the VIP's own move counted
# apart); results in bin/cluster-systemd.md, the nodes' logs of a failed
# fault in bin/cluster-systemd-logs (root).
SYSTEMD_SERVICES ?= placement-api,cinder-api,glance-api
cluster-systemd: deps build
	chmod -R go+rX bin
	mkdir -p bin/cluster-systemd-logs
	SHC_STACKHA=$(CURDIR)/$(BIN) SHC_AGENTS=stackha SHC_NODES_KIND=systemd SHC_SERVICES=$(SYSTEMD_SERVICES) SHC_WRITES=1 STACKHA_ALL_TIERS=1 SHC_LOGS=$(CURDIR)/bin/cluster-systemd-logs SHC_RESULTS=$(CURDIR)/bin/cluster-systemd.md \
		$(GO) test -count=1 -v -timeout 30m -run 'TestFaults$$' ./test/cluster/
	@cat bin/cluster-systemd.md

# The stateful tier (issue 24, run by make check, so in CI): three fenced
# systemd nodes with MariaDB Galera and RabbitMQ from Debian 12 run by
# resource-agents' galera and rabbitmq-cluster agents as `stackha render`
# writes them, keystone and heat-api on Galera (no shared sqlite, keystone's
# keys copied from the first node), heat-engine behind RabbitMQ, and faults
# 16-20 (kill -9 mariadbd, the database writer's power loss and ring cut,
# every node's power, kill -9 of the RabbitMQ node holding heat's queue)
# with a client creating a keystone project every 250 ms (every
# acknowledged one read back after each fault) and one listing heat's
# stacks (an RPC call through RabbitMQ); results in bin/cluster-stateful.md.
# make check runs faults 16, 18, 19 and 20 (about 8 minutes; the ring cut,
# 17, adds one more and runs here by default).
STATEFUL_FAULTS ?=
cluster-stateful: deps build
	chmod -R go+rX bin
	mkdir -p bin/cluster-stateful-logs
	SHC_STACKHA=$(CURDIR)/$(BIN) SHC_AGENTS=stackha SHC_NODES_KIND=systemd SHC_STATEFUL=1 SHC_FAULTS=$(STATEFUL_FAULTS) STACKHA_ALL_TIERS=1 SHC_LOGS=$(CURDIR)/bin/cluster-stateful-logs SHC_RESULTS=$(CURDIR)/bin/cluster-stateful.md \
		$(GO) test -count=1 -v -timeout 30m -run 'TestFaults$$' ./test/cluster/
	@cat bin/cluster-stateful.md

deps:
	@bash test/deps.sh check

# Only what the demo runs (no test tools, no recommends).
deps-demo:
	@bash test/deps.sh demo

# The Debian package and the rpm, from one description (packaging/). The
# packager is a module of its own (packaging/go.mod), so that nfpm and the
# ~45 modules it brings stay out of the agents' go.mod; it is built into
# bin/ and run from here, where the paths it is given and prints are.
MKPKG := bin/mkpkg
.PHONY: mkpkg
mkpkg:
	$(GO) -C packaging build $(BUILDFLAGS) -o $(CURDIR)/$(MKPKG) ./mkpkg
deb: build mkpkg
	$(MKPKG) -bin $(BIN) -version '$(VERSION)' -source-date-epoch $(SOURCE_DATE_EPOCH) -format deb -out bin
rpm: build mkpkg
	$(MKPKG) -bin $(BIN) -version '$(VERSION)' -source-date-epoch $(SOURCE_DATE_EPOCH) -format rpm -out bin

install: build
	install -d $(DESTDIR)$(LIBEXEC) $(DESTDIR)$(OCFDIR) $(DESTDIR)$(MANDIR)
	install -m 0755 $(BIN) $(DESTDIR)$(LIBEXEC)/stackha
	@for a in $$($(BIN) agents | cut -f1); do \
		ln -sfn $(LIBEXEC)/stackha $(DESTDIR)$(OCFDIR)/$$a; \
		$(BIN) man $$a > $(DESTDIR)$(MANDIR)/ocf_stackha_$$a.7; \
		chmod 0644 $(DESTDIR)$(MANDIR)/ocf_stackha_$$a.7; \
		echo "installed ocf:stackha:$$a"; \
	done

uninstall:
	@for a in $$($(DESTDIR)$(LIBEXEC)/stackha agents 2>/dev/null | cut -f1); do \
		rm -f $(DESTDIR)$(OCFDIR)/$$a $(DESTDIR)$(MANDIR)/ocf_stackha_$$a.7; \
	done
	rm -f $(DESTDIR)$(LIBEXEC)/stackha
	-rmdir $(DESTDIR)$(OCFDIR) $(DESTDIR)$(LIBEXEC) 2>/dev/null

# Every benchmark, each side by side with what stackha replaces (root).
bench: bench-vip bench-haproxy bench-openstack

# vip side by side with ocf:heartbeat:IPaddr2 on one veth in a private
# network namespace (root; uses strace and /usr/bin/time), then the floor:
# what starting `true`, a Go hello world and stackha costs (valgrind, when
# installed, adds instruction counts). BENCH_VIP_FLAGS: e.g. `-floor 1000`
# for the floor table alone over many runs, `-alt OTHER_BINARY` to put
# another build beside this one.
.PHONY: bench-vip bench-openstack
bench-vip: build
	$(GO) run $(BUILDFLAGS) ./test/bench/vip -bin $(BIN) $(BENCH_VIP_FLAGS)

# haproxy: seamless reload vs the seed's stop+start under HTTP load, and
# monitor time vs the init script's kill -0 (root; loopback, free ports).
.PHONY: bench-haproxy
bench-haproxy: build
	$(GO) run $(BUILDFLAGS) ./test/bench/haproxy/cmd/haproxy-bench -stackha $(BIN)

# haproxy's depth-10 monitor with 10, 100 and 1,000 backends (3 servers
# each) beside the init script's status, same run (root; loopback).
.PHONY: bench-haproxy-scale
bench-haproxy-scale: build
	$(GO) run $(BUILDFLAGS) ./test/bench/haproxy/cmd/haproxy-scale -stackha $(BIN)

# The cost of watching a node: CPU per hour of every monitor of one node of
# the rendered seed cluster, stackha against IPaddr2, haproxy's init-script
# status and `openstack token issue`, same intervals, same run; the table
# also goes to bin/bench-steady.md (root; Debian's services on loopback).
.PHONY: bench-steady
STEADY_RUNS ?= 20
bench-steady: build
	$(GO) run $(BUILDFLAGS) ./test/bench/steady/cmd/bench-steady -stackha $(BIN) -runs $(STEADY_RUNS)

# keystone depth-0 monitor (the agent exec'd) vs the old agents' `openstack
# token issue`, same keystone, same run. Root; STACKHA_BENCH_RUNS=N (30).
bench-openstack:
	STACKHA_BENCH=1 $(GO) test -count=1 -run '^TestBenchMonitor$$' -v ./agents/openstack | grep -v -e '^=== RUN' -e '^--- PASS' -e '^PASS'

# A throwaway two-node Pacemaker cluster on this machine (root): VIP +
# haproxy clone + keystone, a token through the VIP, node1 in standby,
# failover timed, node1 back, teardown. Agent set: AGENTS=auto|stackha|heartbeat.
# Nodes: NODES=auto (nodes that boot systemd, running what `stackha render`
# writes with corosync, Pacemaker and Debian's keystone.service from their
# units, when the agents are stackha's), systemd, or lab (the harness's
# lighter namespaces).
AGENTS ?= auto
NODES ?= auto
demo: deps-demo build
	chmod -R go+rX bin
	$(GO) run $(BUILDFLAGS) ./test/cluster/demo -stackha $(BIN) -agents $(AGENTS) -nodes $(NODES)

# Failover time through the VIP, same harness, same run (root).
# KIND=standby: stackha's vip + haproxy against IPaddr2 + haproxy via
# ocf:heartbeat:anything (crm node standby, two nodes).
# KIND=crash: power loss of the VIP holder on three nodes, stackha with
# fencing (token 1000 and 3000 ms) against keepalived + haproxy, then
# faults 10-12 on both with the split-brain watcher; table in bin/.
# KIND=linkloss: the VIP holder's link down on keepalived + haproxy.
RUNS ?= 7
KIND ?= standby
# KIND=crash VARIANTS=0,4: only those crash variants (numbered in test/bench/failover).
VARIANTS ?=
# LOGS=dir: keep each crash variant's node logs (Pacemaker, corosync) in dir/<variant>.
LOGS ?=
bench-failover: deps build
	chmod -R go+rX bin
	$(GO) run $(BUILDFLAGS) ./test/bench/failover -stackha $(BIN) -runs $(RUNS) -kind $(KIND) -variants "$(VARIANTS)" -logs "$(LOGS)" -out bin/bench-failover-$(KIND).md

# The cluster fault tests, the full matrix: both agent sets, each on the
# lab two-node cluster, three nodes with fencing and two nodes with
# fencing; the results table (with the split-brain watcher's counts) goes
# to bin/cluster-faults.md (root).
cluster-faults: deps build
	SHC_AGENTS=both SHC_MATRIX=1 SHC_RESULTS=$(CURDIR)/bin/cluster-faults.md $(GO) test -count=1 -v -timeout 90m -run 'TestFaults$$' ./test/cluster/
	@cat bin/cluster-faults.md

# Faults 14 (rolling restart) and 15 (the VIP's node in standby as another
# comes back, a request held open through the VIP) on three fenced nodes
# with keystone and CPU and I/O load inside every node (SHC_LOAD=1: a busy
# controller; Pacemaker then throttles to one action at a time), once
# (cluster-loaded, run by make check, so in CI: about 4 minutes), or fault 14
# ROLLING_RUNS times on one cluster (bench-rolling: a row per run and the
# worst figures, in bin/bench-rolling.md; about 31 minutes) (root).
ROLLING_RUNS ?= 20
LOADED := SHC_STACKHA=$(CURDIR)/$(BIN) SHC_AGENTS=stackha SHC_LOAD=1 SHC_NODES=3 SHC_FENCING=1
# Planned maintenance with writes (issue 25): fault 14 (a rolling restart of
# three systemd nodes, keystone, placement-api, cinder-api and glance-api on
# their Debian units) MAINTENANCE_RUNS times, with a client reading, one
# issuing a token and one creating a resource provider in placement then
# reading it back, each through the VIP every WRITE_EVERY (50 ms: several
# writes in flight as each service stops): stackha on three fenced nodes with
# the services drained before they stop (render's default), the same without
# the drain, then keepalived + haproxy with the same services, restarted one
# node at a time from their units (SHC_KEEPALIVED=1); the three tables in
# bin/bench-maintenance.md (root; about 40 minutes).
.PHONY: bench-maintenance
WRITE_EVERY ?= 50ms
MAINTENANCE_RUNS ?= 2
MAINTENANCE := SHC_STACKHA=$(CURDIR)/$(BIN) SHC_AGENTS=stackha SHC_NODES_KIND=systemd SHC_NODES=3 SHC_FENCING=1 SHC_FAULTS=14 SHC_SERVICES=$(SYSTEMD_SERVICES) SHC_WRITES=1 SHC_WRITE_EVERY=$(WRITE_EVERY) SHC_REPEAT=$(MAINTENANCE_RUNS) STACKHA_ALL_TIERS=1
bench-maintenance: deps build
	chmod -R go+rX bin
	$(MAINTENANCE) SHC_RESULTS=$(CURDIR)/bin/bench-maintenance-drain.md $(GO) test -count=1 -v -timeout 60m -run 'TestFaults$$' ./test/cluster/ || true
	$(MAINTENANCE) SHC_DRAIN=0 SHC_RESULTS=$(CURDIR)/bin/bench-maintenance-nodrain.md $(GO) test -count=1 -v -timeout 60m -run 'TestFaults$$' ./test/cluster/ || true
	$(MAINTENANCE) SHC_KEEPALIVED=1 SHC_RESULTS=$(CURDIR)/bin/bench-maintenance-keepalived.md $(GO) test -count=1 -v -timeout 60m -run 'TestFaults$$' ./test/cluster/ || true
	@{ echo "# stackha, the services drained before they stop (render's default)"; cat bin/bench-maintenance-drain.md; \
	  echo; echo "# stackha without the drain (drain_timeout 0)"; cat bin/bench-maintenance-nodrain.md; \
	  echo; echo "# keepalived + haproxy, the same services restarted one node at a time"; cat bin/bench-maintenance-keepalived.md; } > bin/bench-maintenance.md
	@cat bin/bench-maintenance.md

# The event watchers (issue 27): faults 2, 3 and 4 (kill -9 of haproxy's
# master, the VIP deleted, the link down) WATCH_RUNS times each, without and
# with watch=true on vip and haproxy (SHC_WATCH=1), on the lab two-node
# cluster and on three fenced nodes, then the link loss on keepalived +
# haproxy (two and three nodes), one after the other; the five tables in
# bin/bench-watch.md (root; about 20 minutes).
.PHONY: bench-watch
WATCH_RUNS ?= 5
WATCH := SHC_STACKHA=$(CURDIR)/$(BIN) SHC_AGENTS=stackha SHC_FAULTS=2,3,4 SHC_REPEAT=$(WATCH_RUNS)
bench-watch: deps build
	chmod -R go+rX bin
	$(WATCH) SHC_NODES=2 SHC_WATCH=0 SHC_RESULTS=$(CURDIR)/bin/bench-watch-lab-off.md $(GO) test -count=1 -v -timeout 60m -run 'TestFaults$$' ./test/cluster/ || true
	$(WATCH) SHC_NODES=2 SHC_WATCH=1 SHC_RESULTS=$(CURDIR)/bin/bench-watch-lab-on.md $(GO) test -count=1 -v -timeout 60m -run 'TestFaults$$' ./test/cluster/ || true
	$(WATCH) SHC_NODES=3 SHC_FENCING=1 SHC_WATCH=0 SHC_RESULTS=$(CURDIR)/bin/bench-watch-fenced-off.md $(GO) test -count=1 -v -timeout 60m -run 'TestFaults$$' ./test/cluster/ || true
	$(WATCH) SHC_NODES=3 SHC_FENCING=1 SHC_WATCH=1 SHC_RESULTS=$(CURDIR)/bin/bench-watch-fenced-on.md $(GO) test -count=1 -v -timeout 60m -run 'TestFaults$$' ./test/cluster/ || true
	$(GO) run $(BUILDFLAGS) ./test/bench/failover -kind linkloss -runs $(WATCH_RUNS) -out bin/bench-watch-keepalived.md || true
	@for f in lab-off lab-on fenced-off fenced-on keepalived; do echo "# $$f"; cat bin/bench-watch-$$f.md 2>/dev/null || echo "(no table: the run failed before its end)"; echo; done > bin/bench-watch.md
	@cat bin/bench-watch.md

# The front door (issue 26): faults 1-4 and 9 (standby, kill -9 of haproxy,
# the VIP deleted, the link down, the power loss) and 21 (the certificate
# rotated) TLS_RUNS times on three fenced nodes, the client through the
# public VIP over TLS (a handshake per request, trusting the cluster's CA
# only; SHC_TLS=1, the default of make check's three fenced nodes), then the
# same faults with plain HTTP on one VIP (SHC_TLS=0, fault 21 skipped); both
# tables and the front door's checks in bin/bench-tls.md (root; about 10
# minutes).
.PHONY: bench-tls
TLS_RUNS ?= 3
TLSBENCH := SHC_STACKHA=$(CURDIR)/$(BIN) SHC_AGENTS=stackha SHC_NODES=3 SHC_FENCING=1 SHC_FAULTS=1,2,3,4,9,21 SHC_REPEAT=$(TLS_RUNS)
bench-tls: deps build
	chmod -R go+rX bin
	$(TLSBENCH) SHC_TLS=1 SHC_RESULTS=$(CURDIR)/bin/bench-tls-on.md $(GO) test -count=1 -v -timeout 60m -run 'TestFaults$$' ./test/cluster/ || true
	$(TLSBENCH) SHC_TLS=0 SHC_RESULTS=$(CURDIR)/bin/bench-tls-off.md $(GO) test -count=1 -v -timeout 60m -run 'TestFaults$$' ./test/cluster/ || true
	@{ echo "# TLS on the public VIP, an internal VIP"; cat bin/bench-tls-on.md 2>/dev/null || echo "(no table: the run failed before its end)"; \
	  echo; echo "# plain HTTP, one VIP"; cat bin/bench-tls-off.md 2>/dev/null || echo "(no table: the run failed before its end)"; } > bin/bench-tls.md
	@cat bin/bench-tls.md

.PHONY: cluster-loaded bench-rolling
cluster-loaded: deps build
	chmod -R go+rX bin
	$(LOADED) SHC_FAULTS=14,15 SHC_RESULTS=$(CURDIR)/bin/cluster-loaded.md $(GO) test -count=1 -v -timeout 30m -run 'TestFaults$$' ./test/cluster/
	@cat bin/cluster-loaded.md
bench-rolling: deps build
	chmod -R go+rX bin
	$(LOADED) SHC_FAULTS=14 SHC_REPEAT=$(ROLLING_RUNS) SHC_RESULTS=$(CURDIR)/bin/bench-rolling.md $(GO) test -count=1 -v -timeout 600m -run 'TestFaults$$' ./test/cluster/
	@cat bin/bench-rolling.md

# `make demo` timed on a fresh Debian 12 tree (debootstrap), install included.
bench-fresh-demo:
	test/fresh/demo.sh

clean:
	rm -rf bin

# Rewrites the agent list in README.md from the registry.
readme: build
	@awk -v list="$$($(BIN) agents | awk -F'\t' '{printf "- `ocf:stackha:%s` — %s\\n", $$1, $$2}')" \
		'/<!-- agents:/ {print; printf "%s", list; skip=1; next} /<!-- \/agents -->/ {skip=0} !skip' README.md > README.md.new
	@mv README.md.new README.md

# crm's tests with the agents installed (bind-mounted in a private mount
# namespace) so that crmsh and pcs check the generated parameters against the
# agents' meta-data. Root.
.PHONY: check-crm
check-crm: build
	bash crm/strict-check.sh $(BIN)
