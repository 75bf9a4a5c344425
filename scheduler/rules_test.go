package scheduler

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/phalanx-sched/phalanx/api"
)

// planCase is one Schedule input and the whole plan it must give.
type planCase struct {
	name string
	in   Input
	want Plan
}

func runPlanCases(t *testing.T, cases []planCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.in.Now.IsZero() {
				tc.in.Now = t0
			}
			got := Schedule(tc.in)
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Schedule() mismatch (-want +got):\n%s", diff)
			}
			checkPlan(t, tc.name, tc.in, got)
		})
	}
}

func w0() Member { return member("w", 0, 0) }

// holder is a running job of queue q holding r with one allocation
// "x-<id>" on node, started at start.
func holder(q, id string, prio int, r api.Resources, nodeID string, start time.Time, gpus ...int) (*api.Job, *api.Allocation) {
	j := inQueue(q, running(job(id, prio, -120, false, group("w", 1, r))))
	return j, startedAt(start, alloc("x-"+id, id, nodeID, r, gpus...))
}

func TestScheduleQueues(t *testing.T) {
	ra, xa := holder("a", "ra", 90, res(4, 32, 4), "n1", t0.Add(-time.Hour), 0, 1, 2, 3)
	rb, xb := holder("b", "rb", 90, res(2, 16, 2), "n1", t0.Add(-time.Hour), 4, 5)
	two := res(2, 16, 2)
	a1 := inQueue("a", job("a1", 90, 0, false, group("w", 1, two)))
	b1 := inQueue("b", job("b1", 10, 5, false, group("w", 1, two)))
	drf := func(queues []api.Queue) Input {
		return Input{Nodes: []*api.Node{node("n1", 32, 256, 8)}, Allocs: []*api.Allocation{xa, xb}, Running: []*api.Job{ra, rb}, Queues: queues, Jobs: requests(a1, b1)}
	}
	full := "0/1 nodes fit: 1 too few free GPUs"
	withQuota := func(q api.Queue, quota api.Quota) api.Queue { q.Quota = quota; return q }
	capped := func(q api.Queue, p int) api.Queue { q.MaxPriority = intp(p); return q }
	cpu5 := int64(5000)
	runPlanCases(t, []planCase{{
		name: "the queue with the lower dominant share goes first, whatever the priorities",
		in:   drf([]api.Queue{queue("a", 1, true), queue("b", 1, true)}),
		want: Plan{
			Jobs:    []JobPlacement{{JobID: "b1", Placements: []Placement{place(w0(), "n1", 6, 7)}}},
			Pending: []Pending{{JobID: "a1", Reason: full}},
		},
	}, {
		name: "without a queue list every queue has weight 1",
		in:   drf(nil),
		want: Plan{
			Jobs:    []JobPlacement{{JobID: "b1", Placements: []Placement{place(w0(), "n1", 6, 7)}}},
			Pending: []Pending{{JobID: "a1", Reason: full}},
		},
	}, {
		name: "weights divide the shares: 4/8 GPUs over weight 3 is below 2/8 over weight 1",
		in:   drf([]api.Queue{queue("a", 3, true), queue("b", 1, true)}),
		want: Plan{
			Jobs:    []JobPlacement{{JobID: "a1", Placements: []Placement{place(w0(), "n1", 6, 7)}}},
			Pending: []Pending{{JobID: "b1", Reason: full}},
		},
	}, {
		name: "quota: a job waits while its queue's GPUs would exceed it, and one larger than the quota says so",
		in: Input{
			Nodes: []*api.Node{node("n1", 32, 256, 8)}, Allocs: []*api.Allocation{xa}, Running: []*api.Job{ra},
			Queues: []api.Queue{withQuota(queue("a", 1, true), api.Quota{GPUs: intp(6)})},
			Jobs: requests(a1, inQueue("a", job("a2", 80, 0, false, group("w", 1, two))),
				inQueue("a", job("a3", 70, 0, false, group("w", 1, res(1, 1, 8))))),
		},
		want: Plan{
			Jobs: []JobPlacement{{JobID: "a1", Placements: []Placement{place(w0(), "n1", 4, 5)}}},
			Pending: []Pending{
				{JobID: "a2", Reason: "queue quota: 6/6 GPUs in use"},
				{JobID: "a3", Reason: "queue quota: the job needs 8 GPUs, more than the quota of 6"},
			},
		},
	}, {
		name: "quota on CPUs",
		in: Input{
			Nodes: []*api.Node{node("n1", 32, 256, 8)}, Allocs: []*api.Allocation{xa}, Running: []*api.Job{ra},
			Queues: []api.Queue{withQuota(queue("a", 1, true), api.Quota{CPUMilli: &cpu5})},
			Jobs:   requests(a1),
		},
		want: Plan{Pending: []Pending{{JobID: "a1", Reason: "queue quota: 4/5 CPUs in use, job needs 2"}}},
	}, {
		name: "quota 0 GPUs: a CPU-only queue",
		in: Input{
			Nodes:  []*api.Node{node("n1", 32, 256, 8)},
			Queues: []api.Queue{withQuota(queue("a", 1, true), api.Quota{GPUs: intp(0)})},
			Jobs:   requests(a1, inQueue("a", job("cpu", 50, 1, false, group("w", 1, res(1, 1, 0))))),
		},
		want: Plan{
			Jobs:    []JobPlacement{{JobID: "cpu", Placements: []Placement{place(w0(), "n1")}}},
			Pending: []Pending{{JobID: "a1", Reason: "queue quota: the job needs 2 GPUs, more than the quota of 0"}},
		},
	}, {
		name: "max_priority: priority above the cap gives no advantage, so the older job goes first",
		in: Input{
			Nodes:  []*api.Node{node("n1", 32, 256, 2)},
			Queues: []api.Queue{capped(queue("a", 1, true), 50)},
			Jobs:   requests(inQueue("a", job("x", 90, 5, false, group("w", 1, two))), inQueue("a", job("y", 50, 0, false, group("w", 1, two)))),
		},
		want: Plan{
			Jobs:    []JobPlacement{{JobID: "y", Placements: []Placement{place(w0(), "n1", 0, 1)}}},
			Pending: []Pending{{JobID: "x", Reason: full}},
		},
	}, {
		name: "without the cap the higher priority goes first",
		in: Input{
			Nodes:  []*api.Node{node("n1", 32, 256, 2)},
			Queues: []api.Queue{queue("a", 1, true)},
			Jobs:   requests(inQueue("a", job("x", 90, 5, false, group("w", 1, two))), inQueue("a", job("y", 50, 0, false, group("w", 1, two)))),
		},
		want: Plan{
			Jobs:    []JobPlacement{{JobID: "x", Placements: []Placement{place(w0(), "n1", 0, 1)}}},
			Pending: []Pending{{JobID: "y", Reason: full}},
		},
	}, {
		name: "no borrowing: a queue stays within its fair share of the cluster",
		in: Input{
			Nodes:  []*api.Node{node("n1", 32, 256, 8), node("n2", 32, 256, 8)},
			Queues: []api.Queue{queue("a", 1, false), queue("b", 1, true)},
			Jobs: requests(inQueue("a", job("big", 50, 0, true, group("w", 2, res(6, 48, 6)))),
				inQueue("a", job("fits", 50, 1, false, group("w", 1, res(6, 48, 6)))),
				inQueue("a", job("over", 50, 2, false, group("w", 1, res(4, 32, 4))))),
		},
		want: Plan{
			Jobs: []JobPlacement{{JobID: "fits", Placements: []Placement{place(w0(), "n1", 0, 1, 2, 3, 4, 5)}}},
			Pending: []Pending{
				{JobID: "big", Reason: "queue a may not borrow: its fair share is 8 GPUs, it holds 0 and the job needs 12"},
				{JobID: "over", Reason: "queue a may not borrow: its fair share is 8 GPUs, it holds 6 and the job needs 4"},
			},
		},
	}, {
		name: "borrowing: the same queue may use idle capacity",
		in: Input{
			Nodes:  []*api.Node{node("n1", 32, 256, 8), node("n2", 32, 256, 8)},
			Queues: []api.Queue{queue("a", 1, true), queue("b", 1, true)},
			Jobs:   requests(inQueue("a", job("big", 50, 0, true, group("w", 2, res(6, 48, 6))))),
		},
		want: Plan{Jobs: []JobPlacement{{JobID: "big", Placements: []Placement{
			withPort(place(member("w", 0, 0), "n1", 0, 1, 2, 3, 4, 5), 29500), place(member("w", 0, 1), "n2", 0, 1, 2, 3, 4, 5),
		}}}},
	}, {
		name: "a job of an unknown queue waits",
		in: Input{
			Nodes:  []*api.Node{node("n1", 32, 256, 8)},
			Queues: []api.Queue{queue("a", 1, true)},
			Jobs:   requests(inQueue("zzz", job("j", 50, 0, false, group("w", 1, two)))),
		},
		want: Plan{Pending: []Pending{{JobID: "j", Reason: "unknown queue zzz"}}},
	}})
}
