package scheduler

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/phalanx-sched/phalanx/api"
)

func TestScheduleNVLink(t *testing.T) {
	w := func(i int) Member { return member("w", 0, i) }
	// twoDomains is an 8-GPU node whose GPUs 0-3 and 4-7 are each linked.
	twoDomains := func() *api.Node { return nvlink(node("n1", 64, 512, 8), []int{0, 1, 2, 3}, []int{4, 5, 6, 7}) }
	holds := func(gpus ...int) []*api.Allocation {
		return []*api.Allocation{alloc("a1", "x", "n1", res(1, 1, len(gpus)), gpus...)}
	}
	one := func(gpus int) []*api.Job { return []*api.Job{job("j", 50, 0, false, group("w", 1, res(1, 1, gpus)))} }
	tests := []struct {
		name   string
		nodes  []*api.Node
		allocs []*api.Allocation
		jobs   []*api.Job
		want   []int // the GPU indices w[0] of job j gets on n1
	}{{
		name:   "a 4-GPU task gets a whole domain",
		nodes:  []*api.Node{twoDomains()},
		allocs: holds(0),
		jobs:   one(4),
		want:   []int{4, 5, 6, 7},
	}, {
		name:   "best fit: a 2-GPU task fills the fuller domain",
		nodes:  []*api.Node{twoDomains()},
		allocs: holds(0, 1),
		jobs:   one(2),
		want:   []int{2, 3},
	}, {
		name:   "no domain holds the task: lowest free indices",
		nodes:  []*api.Node{twoDomains()},
		allocs: holds(0, 1, 4, 5),
		jobs:   one(3),
		want:   []int{2, 3, 6},
	}, {
		name:   "a 1-GPU task goes to the fuller domain",
		nodes:  []*api.Node{twoDomains()},
		allocs: holds(4),
		jobs:   one(1),
		want:   []int{5},
	}, {
		name:   "equally full domains: the lowest index",
		nodes:  []*api.Node{twoDomains()},
		allocs: holds(0, 4),
		jobs:   one(1),
		want:   []int{1},
	}, {
		name:  "a GPU without links is a domain of its own and keeps domains whole",
		nodes: []*api.Node{nvlink(node("n1", 64, 512, 6), []int{0, 1, 2, 3})},
		jobs:  one(1),
		want:  []int{4},
	}, {
		name:  "only GPUs the task can use count",
		nodes: []*api.Node{unhealthy(twoDomains(), 5)},
		jobs:  one(2),
		want:  []int{4, 6},
	}, {
		name: "peers listed on one side only, unknown peers and self links",
		nodes: []*api.Node{func() *api.Node {
			n := node("n1", 64, 512, 8)
			for gpu, peers := range map[int][]int{0: {1}, 2: {1, 9}, 3: {2, 3}, 5: {4}, 6: {7, -1}, 4: {7}} {
				n.GPUs[gpu].NVLinkPeers = peers
			}
			return n
		}()},
		allocs: holds(0),
		jobs:   one(4),
		want:   []int{4, 5, 6, 7},
	}, {
		name: "GPUs listed out of index order",
		nodes: []*api.Node{func() *api.Node {
			n := twoDomains()
			slices.Reverse(n.GPUs)
			return n
		}()},
		allocs: holds(4),
		jobs:   one(3),
		want:   []int{5, 6, 7},
	}, {
		name:   "without NVLink: lowest free indices",
		nodes:  []*api.Node{node("n1", 64, 512, 8)},
		allocs: holds(0),
		jobs:   one(4),
		want:   []int{1, 2, 3, 4},
	}, {
		name:   "one domain spanning the node: lowest free indices",
		nodes:  []*api.Node{nvlink(node("n1", 64, 512, 8), []int{0, 1, 2, 3, 4, 5, 6, 7})},
		allocs: holds(0),
		jobs:   one(4),
		want:   []int{1, 2, 3, 4},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Schedule(Input{Nodes: tt.nodes, Allocs: tt.allocs, Jobs: requests(tt.jobs...), Now: t0})
			want := Plan{Jobs: []JobPlacement{{JobID: "j", Placements: []Placement{place(w(0), "n1", tt.want...)}}}}
			if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Schedule() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestScheduleNVLinkInOnePass checks that placements earlier in the same
// plan count: domains are computed once, what is free is not.
func TestScheduleNVLinkInOnePass(t *testing.T) {
	w := func(i int) Member { return member("w", 0, i) }
	n := nvlink(node("n1", 64, 512, 8), []int{0, 1, 2, 3}, []int{4, 5, 6, 7})
	in := Input{Nodes: []*api.Node{n}, Now: t0, Jobs: requests(
		job("a", 90, 0, false, group("w", 1, res(1, 1, 1))),
		job("b", 80, 0, false, group("w", 2, res(1, 1, 2))),
		job("c", 70, 0, false, group("w", 1, res(1, 1, 3))),
	)}
	want := Plan{Jobs: []JobPlacement{
		{JobID: "a", Placements: []Placement{place(w(0), "n1", 0)}},
		{JobID: "b", Placements: []Placement{place(w(0), "n1", 1, 2), place(w(1), "n1", 4, 5)}},
		{JobID: "c", Placements: []Placement{place(w(0), "n1", 3, 6, 7)}},
	}}
	if diff := cmp.Diff(want, Schedule(in), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("Schedule() mismatch (-want +got):\n%s", diff)
	}
}
