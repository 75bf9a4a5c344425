package state

import (
	"sync"

	"github.com/google/btree"

	"github.com/phalanx-sched/phalanx/api"
)

// allocTable holds the allocations. They live outside memdb because
// every placement writes its allocation twice or more (placed, running,
// ended) on every server, and memdb's radix trees cost more per write
// (some two hundred small objects for the two writes of a placement) than
// everything else a server does for it. These are copy-on-write B-trees:
// a write transaction works on a lazy clone, so readers of earlier
// versions are never disturbed and never wait, as with memdb. The trees
// hold the same allocation pointers, each under its own key:
//
//	byID: the allocation's ID
//	byJob: its job's ID, then its ID: every allocation, ended ones too
//	live: its ID, only those that hold resources (the scheduler takes
//	  them in ID order)
//	byNode: its node's ID, then its ID: the live ones again, per node
//
// Per placement that is four tree writes when it is placed and as many
// for each report: against about twenty radix-tree inserts before.
type allocTable struct {
	byID   *btree.BTreeG[*api.Allocation]
	byJob  *btree.BTreeG[allocRef]
	live   *btree.BTreeG[*api.Allocation]
	byNode *btree.BTreeG[allocRef]
}

// allocRef is an allocation under a secondary key.
type allocRef struct {
	key string
	a   *api.Allocation
}

// allocDegree is the B-trees' degree: nodes of up to 31 items, small
// enough that copying one on write is cheap.
const allocDegree = 16

func newAllocTable() *allocTable {
	return &allocTable{
		byID:   btree.NewG(allocDegree, idLess),
		byJob:  btree.NewG(allocDegree, refLess),
		live:   btree.NewG(allocDegree, idLess),
		byNode: btree.NewG(allocDegree, refLess),
	}
}

func idLess(x, y *api.Allocation) bool { return x.ID < y.ID }

func refLess(x, y allocRef) bool {
	if x.key != y.key {
		return x.key < y.key
	}
	return x.a.ID < y.a.ID
}

// clone is a copy that writes do not share with t. It is lazy: it copies
// nothing until written, and then only the nodes a write touches. It
// must not be called concurrently with itself or with a write to t;
// reads of t may go on.
func (t *allocTable) clone() *allocTable {
	return &allocTable{byID: t.byID.Clone(), byJob: t.byJob.Clone(), live: t.live.Clone(), byNode: t.byNode.Clone()}
}

func (t *allocTable) get(id string) *api.Allocation {
	pivot := pivots.Get().(*api.Allocation)
	pivot.ID = id
	a, _ := t.byID.Get(pivot)
	pivot.ID = ""
	pivots.Put(pivot)
	return a
}

// pivots are allocations to look others up by ID with: an Allocation is
// a few hundred bytes, too many to allocate for every lookup.
var pivots = sync.Pool{New: func() any { return new(api.Allocation) }}

// noAlloc sorts before every allocation of its key in byJob and byNode.
var noAlloc = &api.Allocation{}

// put inserts a or replaces the allocation with its ID, keeping the
// secondary trees in step, and returns the one it replaced, if any.
func (t *allocTable) put(a *api.Allocation) (old *api.Allocation) {
	old, _ = t.byID.ReplaceOrInsert(a)
	if old != nil && old.JobID != a.JobID {
		t.byJob.Delete(allocRef{old.JobID, old})
	}
	t.byJob.ReplaceOrInsert(allocRef{a.JobID, a})
	if old != nil && old.Live() {
		if !a.Live() {
			t.live.Delete(old)
		}
		if !a.Live() || old.NodeID != a.NodeID {
			t.byNode.Delete(allocRef{old.NodeID, old})
		}
	}
	if a.Live() {
		t.live.ReplaceOrInsert(a)
		t.byNode.ReplaceOrInsert(allocRef{a.NodeID, a})
	}
	return old
}

// under returns the allocations filed under key in tree, by ID.
func under(tree *btree.BTreeG[allocRef], key string) []*api.Allocation {
	var out []*api.Allocation
	tree.AscendGreaterOrEqual(allocRef{key, noAlloc}, func(r allocRef) bool {
		if r.key != key {
			return false
		}
		out = append(out, r.a)
		return true
	})
	return out
}
