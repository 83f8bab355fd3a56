// Package crm holds the cluster configuration for the how-to's lab shape: the
// commented crmsh snippets in snippets/ (one concern each), the topology
// examples in examples/, and, in render, the generator behind
// `stackha render`. Its tests load every snippet into an empty CIB with the
// real tools.
package crm
