package state

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-memdb"

	"github.com/phalanx-sched/phalanx/api"
)

// ErrNotFound is returned when a looked-up object does not exist.
var ErrNotFound = api.ErrNotFound

// Store holds the replicated state. It is safe for concurrent use; writes
// come from one goroutine (the FSM).
type Store struct {
	mu     sync.RWMutex
	db     *memdb.MemDB
	allocs *allocTable // this version's; never written again once here
	index  uint64
	// sched is the index of the last write a scheduling pass could
	// decide differently after (see Txn.PutAlloc).
	sched    uint64
	changed  chan struct{} // closed and replaced after every write or restore
	restored chan struct{} // closed and replaced after every restore
}

// New returns an empty store.
func New() *Store {
	db, err := memdb.NewMemDB(schema())
	if err != nil {
		panic(fmt.Sprintf("state: bad schema: %v", err)) // a programming error
	}
	return &Store{db: db, allocs: newAllocTable(), changed: make(chan struct{}), restored: make(chan struct{})}
}

// Snapshot returns a consistent, read-only view of the state as of now.
func (s *Store) Snapshot() *Snapshot {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return &Snapshot{txn: s.db.Txn(false), allocs: s.allocs, index: s.index, sched: s.sched}
}

// Changed returns a channel closed at the next write that changes
// something.
func (s *Store) Changed() <-chan struct{} {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.changed
}

// Write runs fn in a write transaction at Raft index. If fn returns an
// error nothing is written.
func (s *Store) Write(index uint64, fn func(tx *Txn) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	tx := &Txn{Snapshot: Snapshot{txn: s.db.Txn(true), allocs: s.allocs.clone(), index: index}}
	if err := fn(tx); err != nil {
		tx.txn.Abort()
		return err
	}
	if !tx.dirty {
		// Nothing changed: wake nobody, or a watcher that writes in
		// response (the leader) would spin. The index still moves.
		tx.txn.Abort()
		s.index = max(s.index, index)
		return nil
	}
	tx.txn.Commit()
	s.allocs = tx.allocs
	if tx.sched {
		s.sched = max(s.sched, index)
	}
	if index > s.index {
		s.index = index
	}
	close(s.changed)
	s.changed = make(chan struct{})
	return nil
}

// Dump is the whole state as lists of objects: what a Raft snapshot holds.
type Dump struct {
	Jobs       []*api.Job        `json:"jobs"`
	Allocs     []*api.Allocation `json:"allocs"`
	Nodes      []*api.Node       `json:"nodes"`
	Servers    []*api.Server     `json:"servers,omitempty"`
	Repos      []*api.Repo       `json:"repos,omitempty"`
	Secrets    []*api.Secret     `json:"secrets,omitempty"`
	Deliveries []*api.Delivery   `json:"deliveries,omitempty"`
	Runs       []*api.Run        `json:"runs,omitempty"`
	Queues     []*api.Queue      `json:"queues,omitempty"`
}

// Restore replaces the whole state with the given objects, as a Raft
// snapshot restore does. Blocking queries on the old state wake up.
func (s *Store) Restore(index uint64, d Dump) error {
	db, err := memdb.NewMemDB(schema())
	if err != nil {
		return err
	}
	txn := db.Txn(true)
	if err := insertAll(txn, tableJobs, d.Jobs); err != nil {
		return err
	}
	allocs := newAllocTable()
	last := map[string]uint64{}
	for _, a := range d.Allocs {
		allocs.put(a)
		last[a.NodeID] = max(last[a.NodeID], a.ModifyIndex)
	}
	for node, idx := range last {
		if err := txn.Insert(tableAllocIndex, &allocIndex{NodeID: node, Index: idx}); err != nil {
			return err
		}
	}
	for _, err := range []error{
		insertAll(txn, tableNodes, d.Nodes),
		insertAll(txn, tableServers, d.Servers),
		insertAll(txn, tableRepos, d.Repos),
		insertAll(txn, tableSecrets, d.Secrets),
		insertAll(txn, tableDeliveries, d.Deliveries),
		insertAll(txn, tableRuns, d.Runs),
		insertAll(txn, tableQueues, d.Queues),
	} {
		if err != nil {
			return err
		}
	}
	txn.Commit()
	s.mu.Lock()
	s.db, s.allocs, s.index, s.sched = db, allocs, index, index
	close(s.changed)
	s.changed = make(chan struct{})
	close(s.restored)
	s.restored = make(chan struct{})
	s.mu.Unlock()
	return nil
}

func insertAll[T any](txn *memdb.Txn, table string, objs []*T) error {
	for _, o := range objs {
		if err := txn.Insert(table, o); err != nil {
			return fmt.Errorf("restore %s: %w", table, err)
		}
	}
	return nil
}

// NodeAllocs is a blocking query: it returns the allocations of node that
// an executor must act on (those not yet terminal) once the node's
// allocations are no longer as they were at minIndex (one leaving that set
// included, and a restore of an older snapshot too, which moves the index
// back), or when ctx ends. The returned index is the one to pass next
// time. It reads only the node's live allocations, however long its
// history.
func (s *Store) NodeAllocs(ctx context.Context, nodeID string, minIndex uint64) ([]*api.Allocation, uint64, error) {
	for {
		s.mu.RLock()
		restored := s.restored // before the snapshot: a restore in between still wakes us
		s.mu.RUnlock()
		snap := s.Snapshot()
		ws := memdb.NewWatchSet()
		watch, raw, err := snap.txn.FirstWatch(tableAllocIndex, "id", nodeID)
		if err != nil {
			return nil, 0, err
		}
		ws.Add(watch)
		var index uint64 = 1
		if raw != nil {
			index = raw.(*allocIndex).Index
		}
		if index != minIndex || ctx.Err() != nil {
			return snap.LiveNodeAllocs(nodeID), index, nil
		}
		ws.Add(restored) // a restore swaps the database under the watch
		if err := ws.WatchCtx(ctx); err != nil {
			return snap.LiveNodeAllocs(nodeID), index, nil
		}
	}
}

// Snapshot is a read-only view of the state at one Raft index.
type Snapshot struct {
	txn    *memdb.Txn
	allocs *allocTable
	index  uint64
	sched  uint64
}

// Index is the Raft index of the last write this snapshot includes.
func (s *Snapshot) Index() uint64 { return s.index }

// SchedIndex is the Raft index of the last write that can change what a
// scheduling pass decides: a job written, an allocation placed, ended or
// asked to stop, a node or queue written. Reports that tasks run are not
// among them, though a task's start time feeds reservations and the
// choice of what to preempt: the leader also passes once a second while
// work waits, which takes those in. A pass over an unchanged SchedIndex,
// at the same time, decides what the last one did.
func (s *Snapshot) SchedIndex() uint64 { return s.sched }

// Job returns the job with exactly the given ID.
func (s *Snapshot) Job(id string) (*api.Job, error) {
	raw, err := s.txn.First(tableJobs, "id", id)
	if err != nil {
		return nil, err
	}
	if raw == nil {
		return nil, fmt.Errorf("job %q: %w", id, ErrNotFound)
	}
	return raw.(*api.Job), nil
}

// LookupJob finds the job a user means: its ID, or a unique ID prefix of
// at least four characters.
func (s *Snapshot) LookupJob(id string) (*api.Job, error) {
	if j, err := s.Job(id); err == nil {
		return j, nil
	}
	if len(id) < 4 {
		return nil, fmt.Errorf("job %q: %w", id, ErrNotFound)
	}
	iter, err := s.txn.Get(tableJobs, "id_prefix", id)
	if err != nil {
		return nil, err
	}
	var found *api.Job
	for raw := iter.Next(); raw != nil; raw = iter.Next() {
		if found != nil {
			return nil, fmt.Errorf("job ID prefix %q matches more than one job", id)
		}
		found = raw.(*api.Job)
	}
	if found == nil {
		return nil, fmt.Errorf("job %q: %w", id, ErrNotFound)
	}
	return found, nil
}

// Jobs returns every job, oldest first.
func (s *Snapshot) Jobs() []*api.Job {
	var out []*api.Job
	iter, _ := s.txn.Get(tableJobs, "id")
	for raw := iter.Next(); raw != nil; raw = iter.Next() {
		out = append(out, raw.(*api.Job))
	}
	sortJobs(out)
	return out
}

func sortJobs(js []*api.Job) {
	sort.Slice(js, func(i, j int) bool {
		if js[i].CreateIndex != js[j].CreateIndex {
			return js[i].CreateIndex < js[j].CreateIndex
		}
		return js[i].ID < js[j].ID
	})
}

// Alloc returns one allocation.
func (s *Snapshot) Alloc(id string) (*api.Allocation, error) {
	if a := s.allocs.get(id); a != nil {
		return a, nil
	}
	return nil, fmt.Errorf("allocation %q: %w", id, ErrNotFound)
}

// JobAllocs returns every allocation of a job, terminal ones included,
// ordered by attempt, group, index, then creation.
func (s *Snapshot) JobAllocs(jobID string) []*api.Allocation {
	out := under(s.allocs.byJob, jobID)
	sortAllocs(out)
	return out
}

// LiveAllocs returns the allocations that hold node resources, by ID.
func (s *Snapshot) LiveAllocs() []*api.Allocation {
	out := make([]*api.Allocation, 0, s.allocs.live.Len())
	s.allocs.live.Ascend(func(a *api.Allocation) bool {
		out = append(out, a)
		return true
	})
	return out
}

// LiveNodeAllocs returns the allocations that hold a node's resources, in
// the order of JobAllocs.
func (s *Snapshot) LiveNodeAllocs(nodeID string) []*api.Allocation {
	out := under(s.allocs.byNode, nodeID)
	if out == nil {
		out = []*api.Allocation{}
	}
	sortAllocs(out)
	return out
}

// ActiveJobs returns the jobs that are not finished (queued or running),
// oldest first.
func (s *Snapshot) ActiveJobs() []*api.Job { return s.jobsWhere("active") }

// UnplacedJobs returns the unfinished jobs with members that need a node
// (Unplaced > 0), oldest first.
func (s *Snapshot) UnplacedJobs() []*api.Job { return s.jobsWhere("unplaced") }

// jobsWhere returns the jobs a conditional index holds, oldest first.
func (s *Snapshot) jobsWhere(index string) []*api.Job {
	var out []*api.Job
	iter, _ := s.txn.Get(tableJobs, index, true)
	for raw := iter.Next(); raw != nil; raw = iter.Next() {
		out = append(out, raw.(*api.Job))
	}
	sortJobs(out)
	return out
}

func sortAllocs(as []*api.Allocation) {
	sort.Slice(as, func(i, j int) bool {
		a, b := as[i], as[j]
		if a.Attempt != b.Attempt {
			return a.Attempt < b.Attempt
		}
		if a.Group != b.Group {
			return a.Group < b.Group
		}
		if a.Index != b.Index {
			return a.Index < b.Index
		}
		if a.CreateIndex != b.CreateIndex {
			return a.CreateIndex < b.CreateIndex
		}
		return a.ID < b.ID
	})
}

// Node returns the node with exactly the given ID.
func (s *Snapshot) Node(id string) (*api.Node, error) {
	raw, err := s.txn.First(tableNodes, "id", id)
	if err != nil {
		return nil, err
	}
	if raw == nil {
		return nil, fmt.Errorf("node %q: %w", id, ErrNotFound)
	}
	return raw.(*api.Node), nil
}

// LookupNode finds the node a user means: its ID, its name, or a unique
// ID prefix of at least four characters.
func (s *Snapshot) LookupNode(id string) (*api.Node, error) {
	if n, err := s.Node(id); err == nil {
		return n, nil
	}
	for _, n := range s.Nodes() {
		if n.Name == id || (len(id) >= 4 && strings.HasPrefix(n.ID, id)) {
			return n, nil
		}
	}
	return nil, fmt.Errorf("node %q: %w", id, ErrNotFound)
}

// Nodes returns every node, by ID.
func (s *Snapshot) Nodes() []*api.Node {
	var out []*api.Node
	iter, _ := s.txn.Get(tableNodes, "id")
	for raw := iter.Next(); raw != nil; raw = iter.Next() {
		out = append(out, raw.(*api.Node))
	}
	return out
}

// JobByIdempotencyKey returns the job a submission with this key created.
func (s *Snapshot) JobByIdempotencyKey(key string) (*api.Job, error) {
	raw, err := s.txn.First(tableJobs, "idem", key)
	if err != nil {
		return nil, err
	}
	if raw == nil {
		return nil, fmt.Errorf("idempotency key %q: %w", key, ErrNotFound)
	}
	return raw.(*api.Job), nil
}

// Servers returns the control-plane servers' addresses, by ID.
func (s *Snapshot) Servers() []*api.Server {
	var out []*api.Server
	iter, _ := s.txn.Get(tableServers, "id")
	for raw := iter.Next(); raw != nil; raw = iter.Next() {
		out = append(out, raw.(*api.Server))
	}
	return out
}

// Server returns one server's addresses.
func (s *Snapshot) Server(id string) (*api.Server, error) {
	raw, err := s.txn.First(tableServers, "id", id)
	if err != nil {
		return nil, err
	}
	if raw == nil {
		return nil, fmt.Errorf("server %q: %w", id, ErrNotFound)
	}
	return raw.(*api.Server), nil
}

// Txn is a write transaction. Its reads see its own writes.
type Txn struct {
	Snapshot
	dirty bool
	// sched is set by a write that moves the store's SchedIndex.
	sched bool
	// touched are the jobs this transaction wrote, or whose allocations
	// it wrote in a way that can change what the job needs placed (one
	// was added, or ended); see TouchedJobs.
	touched map[string]bool
	// bumped are the nodes whose blocking queries this transaction
	// already wakes.
	bumped map[string]bool
}

// PutJob inserts or replaces a job, stamping its indexes.
func (tx *Txn) PutJob(j *api.Job) error {
	stamp(&j.CreateIndex, &j.ModifyIndex, tx.index)
	tx.dirty, tx.sched = true, true
	tx.touch(j.ID)
	return tx.txn.Insert(tableJobs, j)
}

func (tx *Txn) touch(jobID string) {
	if tx.touched == nil {
		tx.touched = map[string]bool{}
	}
	tx.touched[jobID] = true
}

// TouchedJobs returns, sorted, the jobs this transaction wrote and those
// of the allocations it added or ended (a report that a task runs does
// not count: it changes nothing a job needs).
func (tx *Txn) TouchedJobs() []string {
	out := make([]string, 0, len(tx.touched))
	for id := range tx.touched {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// PutAlloc inserts or replaces an allocation, stamping its indexes, and,
// when its executor must act on the write, records it for its node's
// blocking queries: a new allocation, or a new desired state. What the
// executor itself reported (running, exited) wakes no one: it knows, and
// at a few thousand reports a second the round trips would cost more
// than everything else the leader does.
func (tx *Txn) PutAlloc(a *api.Allocation) error {
	stamp(&a.CreateIndex, &a.ModifyIndex, tx.index)
	tx.dirty = true
	old := tx.allocs.put(a)
	if (old == nil || old.DesiredState != a.DesiredState || old.NodeID != a.NodeID) && !tx.bumped[a.NodeID] {
		if err := tx.txn.Insert(tableAllocIndex, &allocIndex{NodeID: a.NodeID, Index: tx.index}); err != nil {
			return err
		}
		if tx.bumped == nil {
			tx.bumped = map[string]bool{}
		}
		tx.bumped[a.NodeID] = true
	}
	if old == nil || !old.Live() || !a.Live() {
		tx.touch(a.JobID)
		tx.sched = true
	} else if old.DesiredState != a.DesiredState {
		tx.sched = true
	}
	return nil
}

// PutNode inserts or replaces a node, stamping its indexes.
func (tx *Txn) PutNode(n *api.Node) error {
	stamp(&n.CreateIndex, &n.ModifyIndex, tx.index)
	tx.dirty = true
	if old, err := tx.Node(n.ID); err != nil || !sameButHeartbeat(old, n) {
		tx.sched = true
	}
	return tx.txn.Insert(tableNodes, n)
}

// sameButHeartbeat reports whether two versions of a node differ at most
// in their heartbeat and indexes: nothing placement reads.
func sameButHeartbeat(a, b *api.Node) bool {
	x, y := *a, *b
	x.LastHeartbeat, y.LastHeartbeat = time.Time{}, time.Time{}
	x.CreateIndex, x.ModifyIndex, y.CreateIndex, y.ModifyIndex = 0, 0, 0, 0
	return reflect.DeepEqual(&x, &y)
}

// PutServer inserts or replaces a server's addresses.
func (tx *Txn) PutServer(sv *api.Server) error {
	tx.dirty = true
	return tx.txn.Insert(tableServers, sv)
}

func stamp(create, modify *uint64, index uint64) {
	if *create == 0 {
		*create = index
	}
	*modify = index
}
