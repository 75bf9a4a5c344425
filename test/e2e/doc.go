// Package e2e runs whole Phalanx clusters in-process against real parts:
// Raft on disk with raft-boltdb, HTTP on loopback ports, and the local
// Docker Engine (tests fail rather than skip without it when
// PHALANX_REQUIRE_DOCKER=1).
package e2e
