// Package state is the control plane's in-memory state, written only by
// the Raft FSM and read through immutable snapshots: jobs, nodes, queues,
// repos and runs in a go-memdb database, and allocations, the objects
// written most, in copy-on-write B-trees of their own (allocTable). A
// write transaction changes both; its commit publishes both at once, so
// a snapshot always sees one Raft index of everything.
//
// Objects handed out by a Snapshot are shared with the store and must not
// be modified; writers copy an object, change the copy and upsert it.
// Every write carries the Raft index it came from, which becomes the
// object's ModifyIndex (and CreateIndex on insert) and the store's Index.
// Blocking queries wait on go-memdb watch channels: executors' on a
// per-node row that every change an executor must act on touches.
package state
