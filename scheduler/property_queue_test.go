package scheduler

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/phalanx-sched/phalanx/api"
)

// randomQueuedInput is randomInput with queues (or none), running jobs
// that own the live allocations (some gangs, some with walltimes, some
// stopping), node labels, node selectors, spread groups and a random
// policy and preemption gap.
func randomQueuedInput(r *rand.Rand) Input {
	in := randomInput(r)
	names := []string{"a", "b", "c"}
	if r.IntN(4) > 0 {
		for _, n := range names[:1+r.IntN(3)] {
			q := api.Queue{Name: n, Weight: r.IntN(4), Borrow: r.IntN(3) > 0}
			if r.IntN(3) == 0 {
				q.MaxPriority = intp(10 * r.IntN(3))
			}
			if r.IntN(3) == 0 {
				q.Quota.GPUs = intp(r.IntN(12))
			}
			if r.IntN(5) == 0 {
				cpu := r.Int64N(64) * 1000
				q.Quota.CPUMilli = &cpu
			}
			in.Queues = append(in.Queues, q)
		}
	}
	pick := func() string {
		if r.IntN(12) == 0 {
			return "unknown"
		}
		return names[r.IntN(len(names))]
	}
	for _, n := range in.Nodes {
		if r.IntN(2) == 0 {
			n.Labels = map[string]string{"pool": []string{"train", "infer"}[r.IntN(2)]}
		}
	}
	// Live allocations belong to running jobs: one job per allocation, or
	// a gang over two of them.
	var owner *api.Job
	for k, a := range in.Allocs {
		if owner == nil || r.IntN(3) > 0 {
			owner = running(job(fmt.Sprintf("r%02d", k), 10*r.IntN(8), -r.IntN(100), r.IntN(3) == 0, group("g", 2, a.Task.Resources)))
			owner.Queue = pick()
			if r.IntN(2) == 0 {
				owner.Spec.Walltime = api.Duration(time.Duration(1+r.IntN(180)) * time.Minute)
			}
			in.Running = append(in.Running, owner)
		}
		a.JobID = owner.ID
		if r.IntN(5) > 0 {
			a.StartTime = t0.Add(-time.Duration(r.IntN(120)) * time.Minute)
		}
		if r.IntN(10) == 0 {
			a.DesiredState = api.DesiredStop
		}
	}
	for _, jr := range in.Jobs {
		j := jr.Job
		j.Queue = pick()
		j.Priority = 10 * r.IntN(10)
		if r.IntN(2) == 0 {
			j.Spec.Walltime = api.Duration(time.Duration(1+r.IntN(180)) * time.Minute)
		}
		switch r.IntN(8) {
		case 0:
			j.Spec.NodeSelector = map[string]string{"pool": "train"}
		case 1:
			if len(in.Nodes) > 0 {
				j.Spec.NodeSelector = map[string]string{api.NodeSelectorNode: in.Nodes[r.IntN(len(in.Nodes))].Name}
			}
		}
		for g := range j.Spec.Groups {
			j.Spec.Groups[g].Spread = r.IntN(4) == 0
		}
	}
	if r.IntN(4) == 0 {
		in.Policy = PolicyFIFO
	}
	in.PreemptionGap = []int{0, 0, 5, -1}[r.IntN(4)]
	return in
}

func shuffledQueued(r *rand.Rand, in Input) Input {
	out := shuffled(r, in)
	out.Running = slices.Clone(in.Running)
	out.Queues = slices.Clone(in.Queues)
	r.Shuffle(len(out.Running), func(a, b int) { out.Running[a], out.Running[b] = out.Running[b], out.Running[a] })
	r.Shuffle(len(out.Queues), func(a, b int) { out.Queues[a], out.Queues[b] = out.Queues[b], out.Queues[a] })
	return out
}

func TestScheduleQueuedDeterministic(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for i := range 100 {
		in := randomQueuedInput(r)
		want := Schedule(in)
		for range 4 {
			if diff := cmp.Diff(want, Schedule(shuffledQueued(r, in))); diff != "" {
				t.Fatalf("input %d: shuffled input gives a different plan (-want +got):\n%s", i, diff)
			}
		}
	}
}

func TestScheduleQueuedProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	var evictions, reservations, placed int
	for i := range 1000 {
		in := randomQueuedInput(r)
		before := mustJSON(t, in)
		plan := Schedule(in)
		if mustJSON(t, in) != before {
			t.Fatalf("input %d: Schedule changed its input", i)
		}
		label := fmt.Sprintf("input %d", i)
		checkPlan(t, label, in, plan)
		checkQueues(t, label, in, plan)
		checkEvictions(t, label, in, plan)
		evictions += len(plan.Evictions)
		reservations += len(plan.Reservations)
		placed += len(plan.Jobs)
	}
	t.Logf("%d placed, %d evictions, %d reservations", placed, evictions, reservations)
	if evictions < 25 || reservations < 100 || placed < 500 {
		t.Errorf("weak workload: %d placed, %d evictions, %d reservations", placed, evictions, reservations)
	}
}

// checkQueues checks that no placement breaks a queue's quota, that no
// job of an unknown queue is placed, and that every member lands on a
// node its selector allows and spread groups on distinct nodes.
func checkQueues(t *testing.T, label string, in Input, plan Plan) {
	t.Helper()
	nodes := map[string]*api.Node{}
	for _, n := range in.Nodes {
		nodes[n.ID] = n
	}
	queues := map[string]api.Queue{}
	for _, q := range in.Queues {
		queues[q.Name] = q
	}
	jobs := map[string]*api.Job{}
	for _, j := range in.Running {
		jobs[j.ID] = j
	}
	for _, jr := range in.Jobs {
		jobs[jr.Job.ID] = jr.Job
	}
	gpus := map[string]int{}
	for _, a := range in.Allocs {
		if j := jobs[a.JobID]; j != nil && a.Live() {
			gpus[queueName(j)] += len(a.GPUIndices)
		}
	}
	for _, jp := range plan.Jobs {
		j := jobs[jp.JobID]
		q, known := queues[queueName(j)]
		if in.Queues != nil && !known {
			t.Fatalf("%s: job %s of unknown queue %s placed", label, j.ID, queueName(j))
		}
		spread := map[string]bool{}
		added := 0
		for _, p := range jp.Placements {
			added += len(p.GPUIndices)
			gpus[queueName(j)] += len(p.GPUIndices)
			keys := make([]string, 0, len(j.Spec.NodeSelector))
			for k := range j.Spec.NodeSelector {
				keys = append(keys, k)
			}
			if !selectorMatches(j.Spec.NodeSelector, keys, nodes[p.NodeID]) {
				t.Fatalf("%s: job %s placed on %s, which its node_selector %v does not match", label, j.ID, p.NodeID, j.Spec.NodeSelector)
			}
			if g := j.Spec.Groups[p.Member.GroupIndex]; g.Spread {
				key := g.Name + "@" + p.NodeID
				if spread[key] {
					t.Fatalf("%s: spread group %s of job %s has two members on %s", label, g.Name, j.ID, p.NodeID)
				}
				spread[key] = true
			}
		}
		// Work without GPUs may join a queue already over its GPU quota.
		if q.Quota.GPUs != nil && added > 0 && gpus[q.Name] > *q.Quota.GPUs {
			t.Fatalf("%s: queue %s holds %d GPUs after the plan, quota %d", label, q.Name, gpus[q.Name], *q.Quota.GPUs)
		}
	}
}

// checkEvictions checks that victims are evicted whole, once, never to
// make room for a job placed in the same plan, and that the preemptor
// waits with a reservation now and fits once the victims are gone: a
// follow-up pass, with the plan's placements running and the evicted and
// stopping allocations ended, places it.
func checkEvictions(t *testing.T, label string, in Input, plan Plan) {
	t.Helper()
	if len(plan.Evictions) == 0 {
		return
	}
	if in.Policy == PolicyFIFO {
		t.Fatalf("%s: fifo evicted %v", label, plan.Evictions)
	}
	live := map[string][]string{}
	for _, a := range in.Allocs {
		if a.Live() {
			live[a.JobID] = append(live[a.JobID], a.ID)
		}
	}
	requested := map[string]*JobRequest{}
	for _, jr := range in.Jobs {
		requested[jr.Job.ID] = jr
	}
	evicted := map[string]bool{}
	gone := map[string]bool{}
	for _, e := range plan.Evictions {
		ids := slices.Sorted(slices.Values(live[e.JobID]))
		if !slices.Equal(ids, e.AllocIDs) || evicted[e.JobID] || requested[e.JobID] != nil {
			t.Fatalf("%s: eviction %+v: want every live allocation %v of a running job, once", label, e, ids)
		}
		evicted[e.JobID] = true
		for _, id := range e.AllocIDs {
			gone[id] = true
		}
	}
	pending := map[string]string{}
	for _, p := range plan.Pending {
		pending[p.JobID] = p.Reason
	}
	reserved := map[string]bool{}
	for _, rv := range plan.Reservations {
		if rv.Time.Equal(in.Now) {
			reserved[rv.JobID] = true
		}
	}
	// The follow-up: what the plan placed runs, what it evicted and what
	// was stopping ended.
	next := in
	next.Allocs = nil
	for _, a := range in.Allocs {
		if !gone[a.ID] && a.DesiredState != api.DesiredStop {
			next.Allocs = append(next.Allocs, a)
		}
	}
	for _, jp := range plan.Jobs {
		j := requested[jp.JobID].Job
		for _, p := range jp.Placements {
			a := alloc(fmt.Sprintf("plan-%s-%s-%d", j.ID, p.Member.Group, p.Member.Index), j.ID, p.NodeID, j.Spec.Groups[p.Member.GroupIndex].Task.Resources, p.GPUIndices...)
			a.Ports, a.Group, a.Index = p.Ports, p.Member.Group, p.Member.Index
			next.Allocs = append(next.Allocs, a)
		}
	}
	for _, e := range plan.Evictions {
		why := pending[e.Preemptor]
		if !strings.HasPrefix(why, "preempting ") || !reserved[e.Preemptor] {
			t.Fatalf("%s: %s evicted for %s, which is not waiting with a reservation now: %q", label, e.JobID, e.Preemptor, why)
		}
		// The members this plan did not place.
		left := &JobRequest{Job: requested[e.Preemptor].Job}
		for _, m := range requested[e.Preemptor].Members {
			if !slices.ContainsFunc(plan.Jobs, func(jp JobPlacement) bool {
				return jp.JobID == e.Preemptor && slices.ContainsFunc(jp.Placements, func(p Placement) bool { return p.Member == m })
			}) {
				left.Members = append(left.Members, m)
			}
		}
		next.Jobs = []*JobRequest{left}
		follow := Schedule(next)
		// A gang is placed whole; a non-gang job preempted for the members
		// its queue's limits let it place, at least one.
		want := 1
		if left.Job.Spec.Gang {
			want = len(left.Members)
		}
		if len(follow.Jobs) != 1 || len(follow.Jobs[0].Placements) < want {
			t.Fatalf("%s: %s evicted for %s, which still does not fit once it is gone: %+v", label, e.JobID, e.Preemptor, follow.Pending)
		}
	}
}
