// Package cluster holds the fault suites of stackha's cluster tests: the
// faults of the issues (Faults, each injected on a cluster of package
// harness with a client counting failures and the split-brain watcher of
// package watch), RunFaults and the results table (FormatResults), the
// power-loss timings (BenchCrash, ReplayKeepalived) that test/bench/failover
// runs, and the tests that run them under `go test` as root: TestFaults
// (`make cluster-faults`, `make cluster-loaded`, `make bench-rolling`),
// TestOCF11Cluster and TestLiveUpgrade.
package cluster
