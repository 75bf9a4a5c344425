package state

import (
	"fmt"

	"github.com/hashicorp/go-memdb"

	"github.com/phalanx-sched/phalanx/api"
)

const (
	tableJobs    = "jobs"
	tableNodes   = "nodes"
	tableServers = "servers"
	// Allocations are not in memdb: see allocTable.
	//
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

func activeJob(obj any) (bool, error) { return !obj.(*api.Job).State.Terminal(), nil }

func unplacedJob(obj any) (bool, error) {
	j := obj.(*api.Job)
	return j.Unplaced > 0 && !j.State.Terminal(), nil
}

func activeRun(obj any) (bool, error) { return !obj.(*api.Run).State.Terminal(), nil }

func schema() *memdb.DBSchema {
	return &memdb.DBSchema{Tables: map[string]*memdb.TableSchema{
		tableJobs: {Name: tableJobs, Indexes: map[string]*memdb.IndexSchema{
			"id":       idIndex(func(j *api.Job) string { return j.ID }),
			"active":   {Name: "active", Indexer: &memdb.ConditionalIndex{Conditional: activeJob}},
			"unplaced": {Name: "unplaced", Indexer: &memdb.ConditionalIndex{Conditional: unplacedJob}},
			"idem":     {Name: "idem", AllowMissing: true, Unique: true, Indexer: field(func(j *api.Job) string { return j.IdempotencyKey })},
		}},
		tableAllocIndex: {Name: tableAllocIndex, Indexes: map[string]*memdb.IndexSchema{
			"id": idIndex(func(r *allocIndex) string { return r.NodeID }),
		}},
		tableNodes: {Name: tableNodes, Indexes: map[string]*memdb.IndexSchema{
			"id": idIndex(func(n *api.Node) string { return n.ID }),
		}},
		tableServers: {Name: tableServers, Indexes: map[string]*memdb.IndexSchema{
			"id": idIndex(func(s *api.Server) string { return s.ID }),
		}},
		tableRepos: {Name: tableRepos, Indexes: map[string]*memdb.IndexSchema{
			"id": idIndex(func(r *api.Repo) string { return r.Name }),
		}},
		tableSecrets: {Name: tableSecrets, Indexes: map[string]*memdb.IndexSchema{
			"id": {Name: "id", Unique: true, Indexer: &memdb.CompoundIndex{Indexes: []memdb.Indexer{
				field(func(s *api.Secret) string { return s.Repo }), field(func(s *api.Secret) string { return s.Name }),
			}}},
		}},
		tableDeliveries: {Name: tableDeliveries, Indexes: map[string]*memdb.IndexSchema{
			"id": idIndex(func(d *api.Delivery) string { return d.ID }),
		}},
		tableQueues: {Name: tableQueues, Indexes: map[string]*memdb.IndexSchema{
			"id": idIndex(func(q *api.Queue) string { return q.Name }),
		}},
		tableRuns: {Name: tableRuns, Indexes: map[string]*memdb.IndexSchema{
			"id":     idIndex(func(r *api.Run) string { return r.ID }),
			"active": {Name: "active", Indexer: &memdb.ConditionalIndex{Conditional: activeRun}},
			"repo":   {Name: "repo", Indexer: field(func(r *api.Run) string { return r.Repo })},
		}},
	}}
}

// idIndex is a table's unique primary index on a string field.
func idIndex[T any](get func(*T) string) *memdb.IndexSchema {
	return &memdb.IndexSchema{Name: "id", Unique: true, Indexer: field(get)}
}

// stringField indexes a string field of a *T. It reads the field through
// get where memdb.StringFieldIndex uses reflection, which costs more than
// the rest of an index update; keys and lookups are the same as its: the
// value and a NUL byte, and an empty value has no key.
type stringField[T any] struct{ get func(*T) string }

func field[T any](get func(*T) string) *stringField[T] { return &stringField[T]{get: get} }

func (f *stringField[T]) FromObject(obj any) (bool, []byte, error) {
	o, ok := obj.(*T)
	if !ok {
		return false, nil, fmt.Errorf("state: index over %T given a %T", o, obj)
	}
	v := f.get(o)
	if v == "" {
		return false, nil, nil
	}
	b := make([]byte, len(v)+1)
	copy(b, v)
	return true, b, nil
}

func (f *stringField[T]) FromArgs(args ...any) ([]byte, error) {
	if len(args) != 1 {
		return nil, fmt.Errorf("state: want one argument, got %d", len(args))
	}
	s, ok := args[0].(string)
	if !ok {
		return nil, fmt.Errorf("state: argument must be a string: %#v", args[0])
	}
	return append([]byte(s), 0), nil
}

func (f *stringField[T]) PrefixFromArgs(args ...any) ([]byte, error) {
	b, err := f.FromArgs(args...)
	if err != nil {
		return nil, err
	}
	return b[:len(b)-1], nil
}
