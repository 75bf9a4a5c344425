package state

import (
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
	byID   *btree.BTreeG[allocRef]
	byJob  *btree.BTreeG[allocRef]
	live   *btree.BTreeG[allocRef]
	byNode *btree.BTreeG[allocRef]
}

// allocRef is an allocation under a key: in byID and live the key is its
// ID; in byJob and byNode its job's or node's, and id breaks ties. The
// trees compare refs without reading the allocations, which would cost a
// cache miss each.
type allocRef struct {
	key, id string
	a       *api.Allocation
}

// allocDegree is the B-trees' degree: nodes of up to 31 items, small
// enough that copying one on write is cheap.
const allocDegree = 16

func newAllocTable() *allocTable {
	return &allocTable{
		byID:   btree.NewG(allocDegree, keyLess),
		byJob:  btree.NewG(allocDegree, refLess),
		live:   btree.NewG(allocDegree, keyLess),
		byNode: btree.NewG(allocDegree, refLess),
	}
}

func keyLess(x, y allocRef) bool { return x.key < y.key }

func refLess(x, y allocRef) bool {
	if x.key != y.key {
		return x.key < y.key
	}
	return x.id < y.id
}

// byIDRef and underRef file a under its ID and under key.
func byIDRef(a *api.Allocation) allocRef              { return allocRef{key: a.ID, a: a} }
func underRef(key string, a *api.Allocation) allocRef { return allocRef{key: key, id: a.ID, a: a} }

// clone is a copy that writes do not share with t. It is lazy: it copies
// nothing until written, and then only the nodes a write touches. It
// must not be called concurrently with itself or with a write to t;
// reads of t may go on.
func (t *allocTable) clone() *allocTable {
	return &allocTable{byID: t.byID.Clone(), byJob: t.byJob.Clone(), live: t.live.Clone(), byNode: t.byNode.Clone()}
}

func (t *allocTable) get(id string) *api.Allocation {
	r, _ := t.byID.Get(allocRef{key: id})
	return r.a
}

// put inserts a or replaces the allocation with its ID, keeping the
// secondary trees in step.
func (t *allocTable) put(a *api.Allocation) {
	prev, _ := t.byID.ReplaceOrInsert(byIDRef(a))
	old := prev.a
	if old != nil && old.JobID != a.JobID {
		t.byJob.Delete(underRef(old.JobID, old))
	}
	t.byJob.ReplaceOrInsert(underRef(a.JobID, a))
	if old != nil && old.Live() {
		if !a.Live() {
			t.live.Delete(byIDRef(old))
		}
		if !a.Live() || old.NodeID != a.NodeID {
			t.byNode.Delete(underRef(old.NodeID, old))
		}
	}
	if a.Live() {
		t.live.ReplaceOrInsert(byIDRef(a))
		t.byNode.ReplaceOrInsert(underRef(a.NodeID, a))
	}
}

// under returns the allocations filed under key in tree, by ID.
func under(tree *btree.BTreeG[allocRef], key string) []*api.Allocation {
	var out []*api.Allocation
	tree.AscendGreaterOrEqual(allocRef{key: key}, func(r allocRef) bool {
		if r.key != key {
			return false
		}
		out = append(out, r.a)
		return true
	})
	return out
}
