package scheduler

import (
	"testing"

	"github.com/phalanx-sched/phalanx/api"
)

func TestSchedulePlacementRules(t *testing.T) {
	one := res(1, 8, 1)
	sel := func(j *api.Job, kv ...string) *api.Job {
		j.Spec.NodeSelector = map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			j.Spec.NodeSelector[kv[i]] = kv[i+1]
		}
		return j
	}
	pools := func() []*api.Node {
		return []*api.Node{labelled(node("n1", 32, 256, 8), "pool", "infer"), labelled(node("n2", 32, 256, 8), "pool", "train", "zone", "a")}
	}
	spread := func(count int, on bool) *api.Job {
		g := group("w", count, one)
		g.Spread = on
		return job("s", 50, 0, true, g)
	}
	twoNodes := func() []*api.Node { return []*api.Node{node("n1", 32, 256, 8), node("n2", 32, 256, 8)} }
	named := node("id-7", 32, 256, 8)
	named.Name = "gpu-box-7"

	runPlanCases(t, []planCase{{
		name: "node_selector: every pair must match the node's labels",
		in:   Input{Nodes: pools(), Jobs: requests(sel(job("j", 50, 0, false, group("w", 1, one)), "pool", "train", "zone", "a"))},
		want: Plan{Jobs: []JobPlacement{{JobID: "j", Placements: []Placement{place(w0(), "n2", 0)}}}},
	}, {
		name: "node_selector matching no node says so",
		in:   Input{Nodes: pools(), Jobs: requests(sel(job("j", 50, 0, false, group("w", 1, one)), "pool", "train", "zone", "b"))},
		want: Plan{Pending: []Pending{{JobID: "j", Reason: "node_selector pool=train, zone=b matches no node"}}},
	}, {
		name: "node_selector: causes count only the matching nodes",
		in: Input{Nodes: pools(), Allocs: []*api.Allocation{alloc("x", "x", "n2", res(1, 1, 8), 0, 1, 2, 3, 4, 5, 6, 7)},
			Jobs: requests(sel(job("j", 50, 0, false, group("w", 1, one)), "pool", "train"))},
		want: Plan{Pending: []Pending{{JobID: "j", Reason: "0/1 nodes matching node_selector pool=train fit: 1 too few free GPUs"}}},
	}, {
		name: "phalanx.io/node pins to the node with that ID",
		in:   Input{Nodes: pools(), Jobs: requests(sel(job("j", 50, 0, false, group("w", 1, one)), api.NodeSelectorNode, "n2"))},
		want: Plan{Jobs: []JobPlacement{{JobID: "j", Placements: []Placement{place(w0(), "n2", 0)}}}},
	}, {
		name: "phalanx.io/node pins to the node with that name",
		in:   Input{Nodes: []*api.Node{node("a", 32, 256, 8), named}, Jobs: requests(sel(job("j", 50, 0, false, group("w", 1, one)), api.NodeSelectorNode, "gpu-box-7"))},
		want: Plan{Jobs: []JobPlacement{{JobID: "j", Placements: []Placement{place(w0(), "id-7", 0)}}}},
	}, {
		name: "a job pinned to a node that is down says so",
		in:   Input{Nodes: []*api.Node{node("n1", 32, 256, 8), down(node("n2", 32, 256, 8))}, Jobs: requests(sel(job("j", 50, 0, false, group("w", 1, one)), api.NodeSelectorNode, "n2"))},
		want: Plan{Pending: []Pending{{JobID: "j", Reason: "no ready nodes matching node_selector phalanx.io/node=n2: 1 down"}}},
	}, {
		name: "without spread, members pack onto one node",
		in:   Input{Nodes: twoNodes(), Jobs: requests(spread(2, false))},
		want: Plan{Jobs: []JobPlacement{{JobID: "s", Placements: []Placement{withPort(place(member("w", 0, 0), "n1", 0), 29500), place(member("w", 0, 1), "n1", 1)}}}},
	}, {
		name: "spread: members go to distinct nodes",
		in:   Input{Nodes: twoNodes(), Jobs: requests(spread(2, true))},
		want: Plan{Jobs: []JobPlacement{{JobID: "s", Placements: []Placement{withPort(place(member("w", 0, 0), "n1", 0), 29500), place(member("w", 0, 1), "n2", 0)}}}},
	}, {
		name: "spread: more members than nodes do not fit",
		in:   Input{Nodes: twoNodes(), Jobs: requests(spread(3, true))},
		want: Plan{Pending: []Pending{{JobID: "s", Reason: "gang of 3: only 2 members fit; 0/2 nodes fit the next: 2 already hold a member of the spread group"}}},
	}, {
		name: "best fit leaves no GPUs stranded on a node without CPU to use them",
		in: Input{
			Nodes: []*api.Node{node("na", 32, 256, 8), node("nb", 32, 256, 8)},
			Allocs: []*api.Allocation{
				alloc("xa", "x", "na", res(30, 32, 4), 0, 1, 2, 3),
				alloc("xb", "x", "nb", res(4, 32, 4), 0, 1, 2, 3),
			},
			Jobs: requests(job("j", 50, 0, false, group("w", 1, res(2, 8, 1)))),
		},
		want: Plan{Jobs: []JobPlacement{{JobID: "j", Placements: []Placement{place(w0(), "nb", 4)}}}},
	}})
}

func TestScheduleFIFO(t *testing.T) {
	one := res(1, 8, 1)
	nodes := func() []*api.Node { return []*api.Node{node("n1", 32, 256, 8), node("n2", 32, 256, 8)} }
	busy := alloc("x", "x", "n2", res(7, 56, 7), 0, 1, 2, 3, 4, 5, 6)
	frag := []*api.Allocation{alloc("x1", "x", "n1", res(4, 32, 4), 0, 1, 2, 3), alloc("x2", "x", "n2", res(4, 32, 4), 0, 1, 2, 3)}
	fifo := func(in Input) Input { in.Policy = PolicyFIFO; return in }
	nvl := func() []*api.Node { return []*api.Node{nvlink(node("n1", 32, 256, 8), []int{0, 1}, []int{2, 3, 4, 5, 6, 7})} }
	nvlBusy := alloc("x", "x", "n1", res(1, 8, 1), 0)
	runPlanCases(t, []planCase{{
		name: "fair: best fit",
		in:   Input{Nodes: nodes(), Allocs: []*api.Allocation{busy}, Jobs: requests(job("j", 50, 0, false, group("w", 1, one)))},
		want: Plan{Jobs: []JobPlacement{{JobID: "j", Placements: []Placement{place(w0(), "n2", 7)}}}},
	}, {
		name: "fifo: first fit by node ID",
		in:   fifo(Input{Nodes: nodes(), Allocs: []*api.Allocation{busy}, Jobs: requests(job("j", 50, 0, false, group("w", 1, one)))}),
		want: Plan{Jobs: []JobPlacement{{JobID: "j", Placements: []Placement{place(w0(), "n1", 0)}}}},
	}, {
		name: "fifo: submit order, not priority",
		in: fifo(Input{Nodes: []*api.Node{node("n1", 32, 256, 1)},
			Jobs: requests(job("new-high", 90, 5, false, group("w", 1, one)), job("old-low", 10, 0, false, group("w", 1, one)))}),
		want: Plan{
			Jobs:    []JobPlacement{{JobID: "old-low", Placements: []Placement{place(w0(), "n1", 0)}}},
			Pending: []Pending{{JobID: "new-high", Reason: "0/1 nodes fit: 1 too few free GPUs"}},
		},
	}, {
		name: "fifo: the first job that does not fit blocks every later one",
		in: fifo(Input{Nodes: nodes(), Allocs: frag,
			Jobs: requests(job("head", 50, 0, false, group("w", 1, res(8, 64, 8))), job("small", 50, 5, false, group("w", 1, one)))}),
		want: Plan{Pending: []Pending{
			{JobID: "head", Reason: "0/2 nodes fit: 2 too few free GPUs"},
			{JobID: "small", Reason: "waiting behind job head (fifo)"},
		}},
	}, {
		name: "fifo: a job that can never fit blocks nothing",
		in: fifo(Input{Nodes: nodes(),
			Jobs: requests(job("huge", 50, 0, false, group("w", 1, res(8, 64, 16))), job("small", 50, 5, false, group("w", 1, one)))}),
		want: Plan{
			Jobs:    []JobPlacement{{JobID: "small", Placements: []Placement{place(w0(), "n1", 0)}}},
			Pending: []Pending{{JobID: "huge", Reason: "no node has 16 GPUs in total"}},
		},
	}, {
		name: "fair: the small job runs around the one that does not fit",
		in: Input{Nodes: nodes(), Allocs: frag,
			Jobs: requests(job("head", 50, 0, false, group("w", 1, res(8, 64, 8))), job("small", 50, 5, false, group("w", 1, one)))},
		want: Plan{
			Jobs:    []JobPlacement{{JobID: "small", Placements: []Placement{place(w0(), "n1", 4)}}},
			Pending: []Pending{{JobID: "head", Reason: "0/2 nodes fit: 2 too few free GPUs"}},
		},
	}, {
		name: "fair: NVLink domain with the fewest free GPUs",
		in:   Input{Nodes: nvl(), Allocs: []*api.Allocation{nvlBusy}, Jobs: requests(job("j", 50, 0, false, group("w", 1, one)))},
		want: Plan{Jobs: []JobPlacement{{JobID: "j", Placements: []Placement{place(w0(), "n1", 1)}}}},
	}, {
		name: "fifo: no topology preference, the lowest free index",
		in:   fifo(Input{Nodes: nvl(), Allocs: []*api.Allocation{nvlBusy}, Jobs: requests(job("j", 50, 0, false, group("w", 1, res(1, 8, 2))))}),
		want: Plan{Jobs: []JobPlacement{{JobID: "j", Placements: []Placement{place(w0(), "n1", 1, 2)}}}},
	}})
}

func TestParsePolicy(t *testing.T) {
	for in, want := range map[string]Policy{"": PolicyFair, "fair": PolicyFair, "fifo": PolicyFIFO} {
		if got, err := ParsePolicy(in); err != nil || got != want {
			t.Errorf("ParsePolicy(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParsePolicy("lifo"); err == nil || err.Error() != `unknown scheduling policy "lifo": want fair or fifo` {
		t.Errorf("ParsePolicy(lifo) error = %v", err)
	}
}
