package scheduler

import (
	"strconv"
	"testing"
	"time"

	"github.com/phalanx-sched/phalanx/api"
)

func TestSchedulePreemption(t *testing.T) {
	hour := t0.Add(-time.Hour)
	eight := res(8, 64, 8)
	four := res(4, 32, 4)
	n1 := func() []*api.Node { return []*api.Node{node("n1", 32, 256, 8)} }
	low, xlow := holder("default", "low", 40, eight, "n1", hour, 0, 1, 2, 3, 4, 5, 6, 7)
	hi := func(prio int) []*JobRequest { return requests(job("hi", prio, 0, false, group("w", 1, four))) }
	full := "0/1 nodes fit: 1 too few free GPUs"
	evictLow := func(prio int) Plan {
		return Plan{
			Pending: []Pending{{JobID: "hi", Reason: "preempting 1 job (low); starts when it stops; " + full}},
			Evictions: []Eviction{{
				JobID: "low", AllocIDs: []string{"x-low"}, Preemptor: "hi", Cause: EvictPreempt, GPUSeconds: 8 * 3600,
				Reason: "preempted by job hi (priority " + strconv.Itoa(prio) + " > 40 in queue default)",
			}},
			Reservations: []Reservation{{JobID: "hi", Time: t0, NodeIDs: []string{"n1"}}},
		}
	}
	old, xold := holder("default", "old", 10, four, "n1", t0.Add(-2*time.Hour), 0, 1, 2, 3)
	young, xyoung := holder("default", "young", 10, four, "n1", t0.Add(-10*time.Minute), 4, 5, 6, 7)
	top, xtop := holder("default", "top", 90, four, "n1", hour, 4, 5, 6, 7)

	// A gang of two members, one per node.
	gang := running(job("gang", 10, -120, true, group("w", 2, eight)))
	xg0 := startedAt(hour, alloc("x-gang-0", "gang", "n1", eight, 0, 1, 2, 3, 4, 5, 6, 7))
	xg1 := startedAt(hour, alloc("x-gang-1", "gang", "n2", eight, 0, 1, 2, 3, 4, 5, 6, 7))
	xg1.Index = 1

	// Queue a borrowed both nodes; b is below its fair share.
	a1, xa1 := holder("a", "a1", 50, eight, "n1", t0.Add(-2*time.Hour), 0, 1, 2, 3, 4, 5, 6, 7)
	a2, xa2 := holder("a", "a2", 50, eight, "n2", hour, 0, 1, 2, 3, 4, 5, 6, 7)
	b1 := inQueue("b", job("b1", 50, 0, false, group("w", 1, eight)))
	two := []*api.Node{node("n1", 32, 256, 8), node("n2", 32, 256, 8)}
	queues := []api.Queue{queue("a", 1, true), queue("b", 1, true)}
	unowned := alloc("x-unowned", "nobody", "n2", eight, 0, 1, 2, 3, 4, 5, 6, 7)

	runPlanCases(t, []planCase{{
		name: "a job 10 points higher preempts within its queue",
		in:   Input{Nodes: n1(), Allocs: []*api.Allocation{xlow}, Running: []*api.Job{low}, Jobs: hi(50)},
		want: evictLow(50),
	}, {
		name: "9 points higher is not enough",
		in:   Input{Nodes: n1(), Allocs: []*api.Allocation{xlow}, Running: []*api.Job{low}, Jobs: hi(49)},
		want: Plan{Pending: []Pending{{JobID: "hi", Reason: full}}},
	}, {
		name: "the gap is configurable",
		in:   Input{Nodes: n1(), Allocs: []*api.Allocation{xlow}, Running: []*api.Job{low}, Jobs: hi(45), PreemptionGap: 5},
		want: evictLow(45),
	}, {
		name: "a negative gap turns preemption off",
		in:   Input{Nodes: n1(), Allocs: []*api.Allocation{xlow}, Running: []*api.Job{low}, Jobs: hi(90), PreemptionGap: -1},
		want: Plan{Pending: []Pending{{JobID: "hi", Reason: full}}},
	}, {
		name: "the queue's max_priority caps the preemptor too",
		in: Input{Nodes: n1(), Allocs: []*api.Allocation{xlow}, Running: []*api.Job{low}, Jobs: hi(90),
			Queues: []api.Queue{{Name: "default", Weight: 1, Borrow: true, MaxPriority: intp(45)}}},
		want: Plan{Pending: []Pending{{JobID: "hi", Reason: full}}},
	}, {
		name: "the victim is the one that loses the least work",
		in:   Input{Nodes: n1(), Allocs: []*api.Allocation{xold, xyoung}, Running: []*api.Job{old, young}, Jobs: hi(50)},
		want: Plan{
			Pending: []Pending{{JobID: "hi", Reason: "preempting 1 job (young); starts when it stops; " + full}},
			Evictions: []Eviction{{
				JobID: "young", AllocIDs: []string{"x-young"}, Preemptor: "hi", Cause: EvictPreempt, GPUSeconds: 4 * 600,
				Reason: "preempted by job hi (priority 50 > 10 in queue default)",
			}},
			Reservations: []Reservation{{JobID: "hi", Time: t0, NodeIDs: []string{"n1"}}},
		},
	}, {
		name: "a gang is evicted whole",
		in: Input{Nodes: two, Allocs: []*api.Allocation{xg0, xg1}, Running: []*api.Job{gang},
			Jobs: requests(job("hi", 50, 0, false, group("w", 1, eight)))},
		want: Plan{
			Pending: []Pending{{JobID: "hi", Reason: "preempting 1 job (gang); starts when it stops; 0/2 nodes fit: 2 too few free GPUs"}},
			Evictions: []Eviction{{
				JobID: "gang", AllocIDs: []string{"x-gang-0", "x-gang-1"}, Preemptor: "hi", Cause: EvictPreempt, GPUSeconds: 2 * 8 * 3600,
				Reason: "preempted by job hi (priority 50 > 10 in queue default)",
			}},
			Reservations: []Reservation{{JobID: "hi", Time: t0, NodeIDs: []string{"n1"}}},
		},
	}, {
		name: "no eviction when the preemptor would still not fit",
		in: Input{Nodes: n1(), Allocs: []*api.Allocation{xold, xtop}, Running: []*api.Job{old, top},
			Jobs: requests(job("hi", 50, 0, false, group("w", 1, eight)))},
		want: Plan{Pending: []Pending{{JobID: "hi", Reason: full}}},
	}, {
		name: "a queue below its fair share reclaims what another borrowed, from the job that ran least",
		in:   Input{Nodes: two, Allocs: []*api.Allocation{xa1, xa2}, Running: []*api.Job{a1, a2}, Queues: queues, Jobs: requests(b1)},
		want: Plan{
			Pending: []Pending{{JobID: "b1", Reason: "preempting 1 job (a2); starts when it stops; 0/2 nodes fit: 2 too few free GPUs"}},
			Evictions: []Eviction{{
				JobID: "a2", AllocIDs: []string{"x-a2"}, Preemptor: "b1", Cause: EvictReclaim, GPUSeconds: 8 * 3600,
				Reason: "reclaimed by queue b for job b1: queue a holds more than its fair share",
			}},
			Reservations: []Reservation{{JobID: "b1", Time: t0, NodeIDs: []string{"n2"}}},
		},
	}, {
		name: "nothing is reclaimed from a queue within its fair share",
		in: Input{Nodes: two, Allocs: []*api.Allocation{xa1, unowned}, Running: []*api.Job{a1}, Queues: queues,
			Jobs: requests(b1)},
		want: Plan{Pending: []Pending{{JobID: "b1", Reason: "0/2 nodes fit: 2 too few free GPUs"}}},
	}, {
		name: "a job that fits once stopping allocations end waits for them and evicts nothing",
		in: Input{Nodes: n1(), Allocs: []*api.Allocation{stopping(startedAt(hour, alloc("x-low", "low", "n1", eight, 0, 1, 2, 3, 4, 5, 6, 7)))},
			Running: []*api.Job{low}, Jobs: hi(90)},
		want: Plan{
			Pending:      []Pending{{JobID: "hi", Reason: "waiting for 1 stopping allocation to end; " + full}},
			Reservations: []Reservation{{JobID: "hi", Time: t0, NodeIDs: []string{"n1"}}},
		},
	}})
}

