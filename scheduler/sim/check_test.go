package sim

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/phalanx-sched/phalanx/api"
	"github.com/phalanx-sched/phalanx/scheduler"
)

func TestCheckNode(t *testing.T) {
	node := &api.Node{ID: "n", Resources: api.Resources{CPUMilli: 4000, MemoryBytes: 8 << 30, GPUs: 2},
		GPUs: []api.GPU{{Index: 0}, {Index: 1}}}
	alloc := func(id string, cpu int64, gpus []int, ports ...int) *api.Allocation {
		return &api.Allocation{ID: id, NodeID: "n", State: api.AllocRunning, GPUIndices: gpus, Ports: ports,
			Task: api.Task{Resources: api.Resources{CPUMilli: cpu, MemoryBytes: 1 << 30, GPUs: len(gpus)}}}
	}
	ended := alloc("ended", 4000, []int{0})
	ended.State = api.AllocSucceeded
	for _, tc := range []struct {
		name   string
		allocs []*api.Allocation
		want   []string
	}{
		{"fits", []*api.Allocation{alloc("a", 2000, []int{0}, 29500), alloc("b", 2000, []int{1}, 29501)}, nil},
		{"ended allocations hold nothing", []*api.Allocation{alloc("a", 4000, []int{0}), ended}, nil},
		{"GPU held twice", []*api.Allocation{alloc("a", 1000, []int{0}), alloc("b", 1000, []int{1, 0})},
			[]string{"node n: GPU 0 held by two allocations: a and b"}},
		{"GPU the node lacks", []*api.Allocation{alloc("a", 1000, []int{7})},
			[]string{"node n: allocation a holds GPU 7, which the node does not have"}},
		{"port held twice", []*api.Allocation{alloc("a", 1000, nil, 29500), alloc("b", 1000, nil, 29500)},
			[]string{"node n: port 29500 held by two allocations: a and b"}},
		{"over capacity", []*api.Allocation{alloc("a", 3000, nil), alloc("b", 3000, nil), alloc("c", 0, nil),
			alloc("d", 0, nil), alloc("e", 0, nil), alloc("f", 0, nil), alloc("g", 0, nil), alloc("h", 0, nil), alloc("i", 0, nil)},
			[]string{"node n over capacity: 6000m CPU held, 4000m there", "node n over capacity: 9663676416 bytes of memory held, 8589934592 there"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, checkNode(node, tc.allocs)); diff != "" {
				t.Errorf("violations (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCheckGang(t *testing.T) {
	job := &api.Job{ID: "j1", Name: "train", Spec: api.JobSpec{Gang: true, Groups: []api.Group{{Name: "w", Count: 2}}}}
	alloc := func(index, attempt int) *api.Allocation {
		return &api.Allocation{Group: "w", Index: index, Attempt: attempt, State: api.AllocRunning}
	}
	for _, tc := range []struct {
		name string
		live []*api.Allocation
		want string
	}{
		{"none", nil, ""},
		{"whole", []*api.Allocation{alloc(0, 0), alloc(1, 0)}, ""},
		{"partial", []*api.Allocation{alloc(1, 0)}, "partial gang: j1 (train) runs 1 of its 2 members"},
		{"one member twice", []*api.Allocation{alloc(0, 0), alloc(0, 0)}, "partial gang: j1 (train) runs 1 of its 2 members"},
		{"two attempts", []*api.Allocation{alloc(0, 0), alloc(1, 1)}, "gang j1 runs allocations of attempts 0 and 1 at once"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := checkGang(job, tc.live); got != tc.want {
				t.Errorf("checkGang = %q, want %q", got, tc.want)
			}
		})
	}
	job.Spec.Gang = false
	if got := checkGang(job, []*api.Allocation{alloc(1, 0)}); got != "" {
		t.Errorf("a job that is not a gang may run in part: %q", got)
	}
}

// The checks run on what a broken core does to the simulation.
func TestViolationsOfABrokenCore(t *testing.T) {
	for _, tc := range []struct {
		name     string
		gpus     int
		jobs     []tj
		schedule func(scheduler.Input) scheduler.Plan
		want     string
	}{
		{"every job on GPU 0", 2, []tj{{name: "a", at: "0s", dur: "1m", gpus: 1}, {name: "b", at: "0s", dur: "1m", gpus: 1}},
			func(in scheduler.Input) scheduler.Plan {
				var p scheduler.Plan
				for _, r := range in.Jobs {
					p.Jobs = append(p.Jobs, scheduler.JobPlacement{JobID: r.Job.ID, Placements: []scheduler.Placement{
						{Member: r.Members[0], NodeID: "n-0", GPUIndices: []int{0}, GPUs: []string{"GPU-n-0-0"}}}})
				}
				return p
			}, "t=0s: node n-0: GPU 0 held by two allocations: j0/0/g/0 and j1/0/g/0"},
		{"half a gang", 2, []tj{{name: "a", at: "0s", dur: "1m", gpus: 1, count: 2, gang: true}},
			func(in scheduler.Input) scheduler.Plan {
				p := scheduler.Schedule(in)
				for i := range p.Jobs {
					p.Jobs[i].Placements = p.Jobs[i].Placements[:1]
				}
				return p
			}, "t=0s: partial gang: the plan places 1 of the 2 members of gang j0 (a)"},
		{"a backfill that delays a reservation", 3, []tj{
			{name: "running", at: "0s", dur: "10m", wall: "10m", gpus: 2},
			{name: "reserved", at: "1m", dur: "10m", wall: "10m", gpus: 3, prio: 90},
			{name: "backfill", at: "1m", dur: "1h", gpus: 1, prio: 10},
		}, func(in scheduler.Input) scheduler.Plan {
			// A core that reserves n-0 for "reserved" at 10m, when
			// "running" must be done, and then starts "backfill", which
			// has no walltime, on the GPU left.
			var reserved, backfill *scheduler.JobRequest
			for _, r := range in.Jobs {
				switch r.Job.Name {
				case "reserved":
					reserved = r
				case "backfill":
					backfill = r
				}
			}
			if reserved == nil || backfill == nil {
				return scheduler.Schedule(in)
			}
			held := map[int]bool{}
			for _, a := range in.Allocs {
				for _, g := range a.GPUIndices {
					held[g] = true
				}
			}
			free := 0
			for held[free] {
				free++
			}
			return scheduler.Plan{
				Jobs: []scheduler.JobPlacement{{JobID: backfill.Job.ID, Placements: []scheduler.Placement{
					{Member: backfill.Members[0], NodeID: "n-0", GPUIndices: []int{free}, GPUs: []string{fmt.Sprintf("GPU-n-0-%d", free)}}}}},
				Reservations: []scheduler.Reservation{{JobID: reserved.Job.ID, Time: Epoch.Add(10 * time.Minute), NodeIDs: []string{"n-0"}}},
			}
		}, "t=1m0s: reservation of job j1 (reserved) for 10m0s delayed: it fits then without the jobs just placed (j2 on its nodes n-0), not with them"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := run(testCluster(t, 1, tc.gpus), testWorkload(t, tc.jobs...), DefaultConfig(), tc.schedule)
			got := strings.Join(r.Summary.Violations, "\n")
			if !strings.Contains(got, tc.want) {
				t.Errorf("violations:\n%s\nwant among them: %s", got, tc.want)
			}
		})
	}
}
