package fsm

import (
	"fmt"
	"time"

	"github.com/phalanx-sched/phalanx/api"
	"github.com/phalanx-sched/phalanx/scheduler"
	"github.com/phalanx-sched/phalanx/scheduler/state"
)

// ErrConflict is a command refused because the state no longer allows it
// (a job that already exists, a cancel of a finished job).
var ErrConflict = api.ErrConflict

func applyJobRegister(tx *state.Txn, c *JobRegister) (*JobRegistered, error) {
	if key := c.Job.IdempotencyKey; key != "" {
		if old, err := tx.JobByIdempotencyKey(key); err == nil {
			return &JobRegistered{JobID: old.ID, Existing: true}, nil
		}
	}
	if _, err := tx.Job(c.Job.ID); err == nil {
		return nil, fmt.Errorf("job %s already exists: %w", c.Job.ID, ErrConflict)
	}
	j := c.Job
	j.State, j.Reason, j.Attempt = api.JobQueued, "waiting for the scheduler", 0
	return &JobRegistered{JobID: j.ID}, tx.PutJob(&j)
}

func applyJobsRegister(tx *state.Txn, c *JobsRegister) *JobsRegistered {
	res := &JobsRegistered{Jobs: make([]JobRegistered, len(c.Jobs))}
	for i := range c.Jobs {
		r, err := applyJobRegister(tx, &JobRegister{Job: c.Jobs[i]})
		if err != nil {
			res.Jobs[i].Err = err
			continue
		}
		res.Jobs[i] = *r
	}
	return res
}

func applyJobCancel(tx *state.Txn, c *JobCancel) error {
	old, err := tx.Job(c.JobID)
	if err != nil {
		return err
	}
	if old.State.Terminal() {
		return fmt.Errorf("job %s is already %s: %w", old.ID, old.State, ErrConflict)
	}
	j := *old
	j.State, j.Reason, j.FinishTime = api.JobCancelled, "cancelled by user", c.Time
	if err := tx.PutJob(&j); err != nil {
		return err
	}
	return stopJobAllocs(tx, j.ID, "job cancelled")
}

// stopJobAllocs asks executors to stop every live allocation of a job
// that is not stopping already.
func stopJobAllocs(tx *state.Txn, jobID, why string) error {
	for _, a := range tx.JobAllocs(jobID) {
		if a.Live() && a.DesiredState != api.DesiredStop {
			if err := stopAlloc(tx, a, why); err != nil {
				return err
			}
		}
	}
	return nil
}

// stopAlloc asks an executor to stop a live allocation.
func stopAlloc(tx *state.Txn, old *api.Allocation, why string) error {
	a := *old
	a.DesiredState, a.Message = api.DesiredStop, why
	return tx.PutAlloc(&a)
}

// preemptAlloc asks an executor to stop a live allocation the scheduler
// evicted: stopped like any other, but not a failure.
func preemptAlloc(tx *state.Txn, old *api.Allocation, why string) error {
	a := *old
	a.DesiredState, a.Message, a.Preempted = api.DesiredStop, why, true
	return tx.PutAlloc(&a)
}

func applyPlan(tx *state.Txn, c *PlanApply) (*PlanResult, error) {
	res := &PlanResult{Rejected: map[string]string{}}
	var order []string
	byJob := map[string][]api.Allocation{}
	for _, a := range c.Allocs {
		if _, ok := byJob[a.JobID]; !ok {
			order = append(order, a.JobID)
		}
		byJob[a.JobID] = append(byJob[a.JobID], a)
	}
	// Usage is computed once per node touched and advanced as jobs commit,
	// so two jobs in one plan cannot take the same GPU.
	usage := map[string]*scheduler.Usage{}
	nodes := nodeCache{tx: tx}
	for _, jobID := range order {
		allocs := byJob[jobID]
		if why := checkJobPlacements(tx, &nodes, jobID, allocs, usage); why != "" {
			res.Rejected[jobID] = why
			continue
		}
		for i := range allocs {
			a := allocs[i]
			a.State, a.DesiredState, a.CreateTime = api.AllocPending, api.DesiredRun, c.Time
			if err := tx.PutAlloc(&a); err != nil {
				return nil, err
			}
			usage[a.NodeID].Add(a.Task.Resources, a.GPUIndices, a.Ports)
		}
		old, _ := tx.Job(jobID)
		j := *old
		j.State, j.Reason = api.JobRunning, ""
		if err := tx.PutJob(&j); err != nil {
			return nil, err
		}
	}
	for _, p := range c.Pending {
		old, err := tx.Job(p.JobID)
		if err != nil || old.State.Terminal() || old.Reason == p.Reason {
			continue
		}
		j := *old
		j.Reason = p.Reason
		if err := tx.PutJob(&j); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// checkJobPlacements re-checks one job's placements against the state at
// apply time and returns why they cannot be committed, or "".
func checkJobPlacements(tx *state.Txn, nodes *nodeCache, jobID string, allocs []api.Allocation, usage map[string]*scheduler.Usage) string {
	job, err := tx.Job(jobID)
	if err != nil {
		return "job no longer exists"
	}
	if job.State.Terminal() {
		return "job is " + string(job.State)
	}
	missing := map[scheduler.Member]bool{}
	for _, m := range scheduler.Missing(job, tx.JobAllocs(jobID)) {
		missing[m] = true
	}
	// Check the whole job against a scratch copy of usage, so a gang that
	// fails half way leaves nothing behind.
	scratch := map[string]*scheduler.Usage{}
	for _, a := range allocs {
		gi := groupIndex(job, a.Group)
		m := scheduler.Member{Group: a.Group, GroupIndex: gi, Index: a.Index}
		if gi < 0 || !missing[m] || a.Attempt != job.Attempt {
			return fmt.Sprintf("%s[%d] does not need placing", a.Group, a.Index)
		}
		if needs := scheduler.NeedsRendezvousPort(job, m); needs != (len(a.Ports) == 1) || (!needs && len(a.Ports) > 0) {
			return fmt.Sprintf("%s[%d] has %d reserved ports, want %d", a.Group, a.Index, len(a.Ports), map[bool]int{true: 1}[needs])
		}
		delete(missing, m)
		node, err := nodes.get(a.NodeID)
		if err != nil {
			return fmt.Sprintf("node %s no longer exists", a.NodeID)
		}
		if node.Status != api.NodeReady {
			return fmt.Sprintf("node %s is %s", node.Name, node.Status)
		}
		u, ok := scratch[node.ID]
		if !ok {
			base, ok := usage[node.ID]
			if !ok {
				nu := scheduler.NodeUsage(node.ID, tx.LiveNodeAllocs(node.ID))
				base = &nu
				usage[node.ID] = base
			}
			c := base.Clone()
			u = &c
			scratch[node.ID] = u
		}
		p := scheduler.Placement{Member: m, NodeID: node.ID, GPUIndices: a.GPUIndices, GPUs: a.GPUs, Ports: a.Ports}
		if err := scheduler.CheckPlacement(node, *u, a.Task.Resources, p); err != nil {
			return err.Error()
		}
		u.Add(a.Task.Resources, a.GPUIndices, a.Ports)
	}
	if job.Spec.Gang && len(missing) > 0 {
		return fmt.Sprintf("gang incomplete: %d members not in the plan", len(missing))
	}
	return ""
}

// nodeCache looks nodes up in tx once each: a plan places many members
// on each node it uses. Nodes do not change during a plan's apply.
type nodeCache struct {
	tx *state.Txn
	m  map[string]*api.Node
}

func (c *nodeCache) get(id string) (*api.Node, error) {
	if n, ok := c.m[id]; ok {
		return n, nil
	}
	n, err := c.tx.Node(id)
	if err != nil {
		return nil, err
	}
	if c.m == nil {
		c.m = map[string]*api.Node{}
	}
	c.m[id] = n
	return n, nil
}

func groupIndex(job *api.Job, name string) int {
	for i, g := range job.Spec.Groups {
		if g.Name == name {
			return i
		}
	}
	return -1
}

// applyAllocUpdate records executors' reports. A job's state follows
// from its allocations (reconcileJob) only when one of them ends: a
// report that a task started or still runs changes that allocation
// alone, for it changes none of what reconcileJob counts (which members
// live, succeeded or failed). Most reports are of that kind, and
// reconciling a job reads all of its allocations.
func applyAllocUpdate(tx *state.Txn, c *AllocUpdate) error {
	touched := map[string]bool{}
	when := map[string]time.Time{}
	var jobs []string
	for _, u := range c.Updates {
		old, err := tx.Alloc(u.ID)
		if err != nil || old.State.Terminal() {
			continue // unknown, or already final: a late or repeated report
		}
		if u.NodeID != "" && u.NodeID != old.NodeID {
			continue // another node's allocation: not this reporter's to change
		}
		a := *old
		a.State = u.State
		if u.Message != "" {
			a.Message = u.Message
		}
		if u.ExitCode != nil {
			code := *u.ExitCode
			a.ExitCode = &code
		}
		if u.State == api.AllocRunning && a.StartTime.IsZero() {
			a.StartTime = u.Time
		}
		if u.State.Terminal() {
			a.FinishTime = u.Time
		}
		if err := tx.PutAlloc(&a); err != nil {
			return err
		}
		if a.Live() {
			continue
		}
		if !touched[a.JobID] {
			touched[a.JobID] = true
			jobs = append(jobs, a.JobID)
		}
		// A job's finish time comes from its own nodes' reports, even when
		// the leader merged several nodes' reports into one entry.
		if u.Time.After(when[a.JobID]) {
			when[a.JobID] = u.Time
		}
	}
	for _, id := range jobs {
		if err := reconcileJob(tx, id, when[id]); err != nil {
			return err
		}
	}
	return nil
}

func applyNodeRegister(tx *state.Txn, c *NodeRegister) error {
	n := c.Node
	n.GPUs = append([]api.GPU(nil), n.GPUs...)
	if old, err := tx.Node(n.ID); err == nil {
		n.CreateIndex = old.CreateIndex
		n.Drain = old.Drain // an operator's drain outlives agent restarts
		// A GPU marked unhealthy stays so until an operator recovers it,
		// however often its agent registers again.
		sick := map[string]string{}
		for _, g := range old.GPUs {
			if !g.Healthy {
				sick[g.UUID] = g.Unhealthy
			}
		}
		for i := range n.GPUs {
			if why, ok := sick[n.GPUs[i].UUID]; ok {
				n.GPUs[i].Healthy, n.GPUs[i].Unhealthy = false, why
			}
		}
	}
	n.Status = api.NodeReady
	return tx.PutNode(&n)
}

func applyGPUHealth(tx *state.Txn, c *GPUHealth) error {
	old, err := tx.Node(c.NodeID)
	if err != nil {
		return fmt.Errorf("node %s is not registered: %w", c.NodeID, state.ErrNotFound)
	}
	n := *old
	n.GPUs = append([]api.GPU(nil), old.GPUs...)
	for i := range n.GPUs {
		g := &n.GPUs[i]
		if g.UUID != c.Health.UUID {
			continue
		}
		if g.Healthy == c.Health.Healthy {
			return nil // already so: a repeated report
		}
		g.Healthy, g.Unhealthy = c.Health.Healthy, ""
		if !g.Healthy {
			g.Unhealthy = c.Health.Reason
			if g.Unhealthy == "" {
				g.Unhealthy = "reported unhealthy"
			}
			g.Unhealthy += " at " + c.Time.UTC().Format(time.RFC3339)
		}
		return tx.PutNode(&n)
	}
	return fmt.Errorf("node %s has no GPU %s: %w", n.Name, c.Health.UUID, state.ErrNotFound)
}

func applyNodeHeartbeat(tx *state.Txn, c *NodeHeartbeat) error {
	old, err := tx.Node(c.NodeID)
	if err != nil {
		return fmt.Errorf("node %s is not registered: %w", c.NodeID, state.ErrNotFound)
	}
	n := *old
	n.LastHeartbeat = c.Time
	n.Status = api.NodeReady
	return tx.PutNode(&n)
}

func applyNodeDown(tx *state.Txn, c *NodeDown) error {
	old, err := tx.Node(c.NodeID)
	if err != nil {
		return fmt.Errorf("node %s is not registered: %w", c.NodeID, state.ErrNotFound)
	}
	if old.Status == api.NodeDown {
		return nil
	}
	if !c.LastHeartbeat.IsZero() && !old.LastHeartbeat.Equal(c.LastHeartbeat) {
		return nil // it heartbeat after the leader decided: not down
	}
	n := *old
	n.Status = api.NodeDown
	if err := tx.PutNode(&n); err != nil {
		return err
	}
	return loseNodeAllocs(tx, n.ID, c.Time, "node "+n.Name+" down: "+c.Reason, false)
}

// loseNodeAllocs marks every live allocation of a node lost (and asks its
// executor, should it come back, to stop it), then lets each job decide
// what follows: restart, or fail. Migrated losses are not failures.
func loseNodeAllocs(tx *state.Txn, nodeID string, now time.Time, why string, migrated bool) error {
	var jobs []string
	seen := map[string]bool{}
	for _, old := range tx.LiveNodeAllocs(nodeID) {
		a := *old
		a.State, a.DesiredState, a.FinishTime, a.Migrated = api.AllocLost, api.DesiredStop, now, migrated
		a.Message = why
		if err := tx.PutAlloc(&a); err != nil {
			return err
		}
		if !seen[a.JobID] {
			seen[a.JobID] = true
			jobs = append(jobs, a.JobID)
		}
	}
	for _, id := range jobs {
		if err := reconcileJob(tx, id, now); err != nil {
			return err
		}
	}
	return nil
}

func applyNodeDrain(tx *state.Txn, c *NodeDrain) error {
	old, err := tx.Node(c.NodeID)
	if err != nil {
		return err
	}
	n := *old
	n.Drain = c.Drain
	return tx.PutNode(&n)
}

func applyNodeMigrate(tx *state.Txn, c *NodeMigrate) error {
	old, err := tx.Node(c.NodeID)
	if err != nil {
		return err
	}
	if old.Drain == nil {
		return fmt.Errorf("node %s is not draining: %w", old.Name, ErrConflict)
	}
	return loseNodeAllocs(tx, old.ID, c.Time, "moved off draining node "+old.Name, true)
}

func applyServerAddr(tx *state.Txn, c *ServerAddr) error {
	sv := c.Server
	sv.Voter, sv.Leader, sv.InCluster = false, false, false // those come from the live Raft configuration
	return tx.PutServer(&sv)
}
