package state

import "github.com/hashicorp/go-memdb"

const (
	tableJobs    = "jobs"
	tableAllocs  = "allocs"
	tableNodes   = "nodes"
	tableServers = "servers"
)

func schema() *memdb.DBSchema {
	id := &memdb.IndexSchema{Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "ID"}}
	return &memdb.DBSchema{Tables: map[string]*memdb.TableSchema{
		tableJobs: {Name: tableJobs, Indexes: map[string]*memdb.IndexSchema{
			"id":   id,
			"idem": {Name: "idem", AllowMissing: true, Unique: true, Indexer: &memdb.StringFieldIndex{Field: "IdempotencyKey"}},
		}},
		tableAllocs: {Name: tableAllocs, Indexes: map[string]*memdb.IndexSchema{
			"id":   id,
			"job":  {Name: "job", Indexer: &memdb.StringFieldIndex{Field: "JobID"}},
			"node": {Name: "node", Indexer: &memdb.StringFieldIndex{Field: "NodeID"}},
		}},
		tableNodes: {Name: tableNodes, Indexes: map[string]*memdb.IndexSchema{
			"id": id,
		}},
		tableServers: {Name: tableServers, Indexes: map[string]*memdb.IndexSchema{
			"id": id,
		}},
	}}
}
