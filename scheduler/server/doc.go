// Package server is the replicated control plane around the pure
// placement core: hashicorp/raft with raft-boltdb on disk (or in-memory
// stores and transport in tests), the FSM and state store, and the leader
// loop that schedules queued work and watches node heartbeats.
//
// The leader loop reads a state snapshot, asks scheduler.Schedule for a
// plan, turns placements into allocations and writes them in one
// PlanApply entry; the FSM re-checks the plan against the state at apply
// time. Everything the leader decides from is replicated state, so a new
// leader picks up where the old one stopped.
package server
