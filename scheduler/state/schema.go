package state

import (
	"github.com/hashicorp/go-memdb"

	"github.com/phalanx-sched/phalanx/api"
)

const (
	tableJobs    = "jobs"
	tableAllocs  = "allocs"
	tableNodes   = "nodes"
	tableServers = "servers"
	// tableAllocIndex holds, per node, the Raft index of the last write to
	// any of its allocations: what an executor's blocking query waits on.
	tableAllocIndex = "alloc_index"
	tableRepos      = "repos"
	tableSecrets    = "secrets"
	tableDeliveries = "deliveries"
	tableRuns       = "runs"
)

// allocIndex is a row of tableAllocIndex.
type allocIndex struct {
	NodeID string
	Index  uint64
}

func liveAlloc(obj any) (bool, error) { return obj.(*api.Allocation).Live(), nil }

func activeJob(obj any) (bool, error) { return !obj.(*api.Job).State.Terminal(), nil }

func activeRun(obj any) (bool, error) { return !obj.(*api.Run).State.Terminal(), nil }

func schema() *memdb.DBSchema {
	id := &memdb.IndexSchema{Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "ID"}}
	return &memdb.DBSchema{Tables: map[string]*memdb.TableSchema{
		tableJobs: {Name: tableJobs, Indexes: map[string]*memdb.IndexSchema{
			"id":     id,
			"active": {Name: "active", Indexer: &memdb.ConditionalIndex{Conditional: activeJob}},
			"idem":   {Name: "idem", AllowMissing: true, Unique: true, Indexer: &memdb.StringFieldIndex{Field: "IdempotencyKey"}},
		}},
		tableAllocs: {Name: tableAllocs, Indexes: map[string]*memdb.IndexSchema{
			"id":   id,
			"job":  {Name: "job", Indexer: &memdb.StringFieldIndex{Field: "JobID"}},
			"node": {Name: "node", Indexer: &memdb.StringFieldIndex{Field: "NodeID"}},
			"live": {Name: "live", Indexer: &memdb.ConditionalIndex{Conditional: liveAlloc}},
			"node_live": {Name: "node_live", Indexer: &memdb.CompoundIndex{Indexes: []memdb.Indexer{
				&memdb.StringFieldIndex{Field: "NodeID"}, &memdb.ConditionalIndex{Conditional: liveAlloc},
			}}},
		}},
		tableAllocIndex: {Name: tableAllocIndex, Indexes: map[string]*memdb.IndexSchema{
			"id": {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "NodeID"}},
		}},
		tableNodes: {Name: tableNodes, Indexes: map[string]*memdb.IndexSchema{
			"id": id,
		}},
		tableServers: {Name: tableServers, Indexes: map[string]*memdb.IndexSchema{
			"id": id,
		}},
		tableRepos: {Name: tableRepos, Indexes: map[string]*memdb.IndexSchema{
			"id": {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "Name"}},
		}},
		tableSecrets: {Name: tableSecrets, Indexes: map[string]*memdb.IndexSchema{
			"id": {Name: "id", Unique: true, Indexer: &memdb.CompoundIndex{Indexes: []memdb.Indexer{
				&memdb.StringFieldIndex{Field: "Repo"}, &memdb.StringFieldIndex{Field: "Name"},
			}}},
		}},
		tableDeliveries: {Name: tableDeliveries, Indexes: map[string]*memdb.IndexSchema{
			"id": id,
		}},
		tableQueues: {Name: tableQueues, Indexes: map[string]*memdb.IndexSchema{
			"id": {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "Name"}},
		}},
		tableRuns: {Name: tableRuns, Indexes: map[string]*memdb.IndexSchema{
			"id":     id,
			"active": {Name: "active", Indexer: &memdb.ConditionalIndex{Conditional: activeRun}},
			"repo":   {Name: "repo", Indexer: &memdb.StringFieldIndex{Field: "Repo"}},
		}},
	}}
}
