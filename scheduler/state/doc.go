// Package state is the control plane's in-memory state: jobs, allocations
// and nodes in a go-memdb database, written only by the Raft FSM and read
// through immutable snapshots.
//
// Objects handed out by a Snapshot are shared with the store and must not
// be modified; writers copy an object, change the copy and upsert it.
// Every write carries the Raft index it came from, which becomes the
// object's ModifyIndex (and CreateIndex on insert) and the store's Index.
// Blocking queries wait on go-memdb watch channels for the rows they read.
package state
