package scheduler

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/phalanx-sched/phalanx/api"
)

func TestScheduleRendezvousPort(t *testing.T) {
	w := func(i int) Member { return member("w", 0, i) }
	gang := func(id string, priority, count, gpus int) *api.Job {
		return job(id, priority, 0, true, group("w", count, res(1, 1, gpus)))
	}
	stopped := holding(alloc("a2", "x", "n1", res(1, 1, 0)), 29501)
	stopped.State = api.AllocStopped
	tests := []struct {
		name   string
		nodes  []*api.Node
		allocs []*api.Allocation
		jobs   []*api.Job
		want   Plan
	}{{
		name:  "rank 0 holds the lowest port of the range",
		nodes: []*api.Node{ports(node("n1", 8, 32, 0), 29600, 29610)},
		jobs:  []*api.Job{gang("g", 50, 2, 0)},
		want: Plan{Jobs: []JobPlacement{{JobID: "g", Placements: []Placement{
			withPort(place(w(0), "n1"), 29600), place(w(1), "n1"),
		}}}},
	}, {
		name:  "a second gang on the node gets the next port",
		nodes: []*api.Node{node("n1", 8, 32, 0)},
		jobs:  []*api.Job{gang("a", 50, 2, 0), gang("b", 40, 2, 0)},
		want: Plan{Jobs: []JobPlacement{
			{JobID: "a", Placements: []Placement{withPort(place(w(0), "n1"), 29500), place(w(1), "n1")}},
			{JobID: "b", Placements: []Placement{withPort(place(w(0), "n1"), 29501), place(w(1), "n1")}},
		}},
	}, {
		name:  "ports held by live allocations on the node are skipped; others are not",
		nodes: []*api.Node{node("n1", 8, 32, 0)},
		allocs: []*api.Allocation{
			holding(alloc("a1", "x", "n1", res(1, 1, 0)), 29500),
			stopped,
			holding(alloc("a3", "x", "n1", res(1, 1, 0)), 29502),
			holding(alloc("a4", "x", "n2", res(1, 1, 0)), 29501),
		},
		jobs: []*api.Job{gang("g", 50, 2, 0)},
		want: Plan{Jobs: []JobPlacement{{JobID: "g", Placements: []Placement{
			withPort(place(w(0), "n1"), 29501), place(w(1), "n1"),
		}}}},
	}, {
		name:   "rank 0 goes to a node with a free port; the others need none",
		nodes:  []*api.Node{ports(node("n1", 8, 32, 1), 29500, 29500), ports(node("n2", 8, 32, 1), 0, 0), node("n3", 8, 32, 1)},
		allocs: []*api.Allocation{holding(alloc("a1", "x", "n1", res(1, 1, 0)), 29500)},
		jobs:   []*api.Job{gang("g", 50, 3, 1)},
		want: Plan{Jobs: []JobPlacement{{JobID: "g", Placements: []Placement{
			withPort(place(w(0), "n3", 0), 29500), place(w(1), "n1", 0), place(w(2), "n2", 0),
		}}}},
	}, {
		name:  "jobs that are not gangs, and gangs of one, hold no port",
		nodes: []*api.Node{node("n1", 8, 32, 0)},
		jobs:  []*api.Job{job("solo", 50, 0, true, group("w", 1, res(1, 1, 0))), job("many", 40, 0, false, group("w", 2, res(1, 1, 0)))},
		want: Plan{Jobs: []JobPlacement{
			{JobID: "solo", Placements: []Placement{place(w(0), "n1")}},
			{JobID: "many", Placements: []Placement{place(w(0), "n1"), place(w(1), "n1")}},
		}},
	}, {
		name:  "a rolled back gang releases its port",
		nodes: []*api.Node{ports(node("n1", 8, 32, 8), 29500, 29500)},
		jobs:  []*api.Job{gang("big", 60, 2, 8), gang("small", 50, 2, 1)},
		want: Plan{
			Jobs: []JobPlacement{{JobID: "small", Placements: []Placement{
				withPort(place(w(0), "n1", 0), 29500), place(w(1), "n1", 1),
			}}},
			Pending: []Pending{{JobID: "big", Reason: "gang of 2: only 1 member fits; 0/1 nodes fit the next: 1 too few free GPUs"}},
		},
	}, {
		name:   "a gang waits when no port is free",
		nodes:  []*api.Node{ports(node("n1", 8, 32, 0), 29500, 29501), ports(node("n2", 8, 32, 0), 0, 0)},
		allocs: []*api.Allocation{holding(alloc("a1", "x", "n1", res(1, 1, 0)), 29500, 29501)},
		jobs:   []*api.Job{gang("g", 50, 2, 0), job("j", 40, 0, false, group("w", 1, res(1, 1, 0)))},
		want: Plan{
			Jobs:    []JobPlacement{{JobID: "j", Placements: []Placement{place(w(0), "n1")}}},
			Pending: []Pending{{JobID: "g", Reason: "gang of 2: 0/2 nodes fit: 1 no free host port, 1 no host ports"}},
		},
	}, {
		name:  "no node that could hold rank 0 offers ports",
		nodes: []*api.Node{ports(node("n1", 8, 32, 0), 0, 0), node("n2", 2, 32, 0)},
		jobs:  []*api.Job{gang("g", 50, 2, 0), job("big", 40, 0, true, group("w", 2, res(4, 1, 0)))},
		want: Plan{
			Jobs:    []JobPlacement{{JobID: "g", Placements: []Placement{withPort(place(w(0), "n2"), 29500), place(w(1), "n2")}}},
			Pending: []Pending{{JobID: "big", Reason: "gang of 2: no node with 4 CPUs and 1Gi memory offers host ports (needed for the gang's rendezvous port)"}},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Schedule(Input{Nodes: tt.nodes, Allocs: tt.allocs, Jobs: requests(tt.jobs...), Now: t0})
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Schedule() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNeedsRendezvousPort(t *testing.T) {
	gang := job("g", 50, 0, true, group("ps", 1, res(1, 1, 0)), group("w", 2, res(1, 1, 0)))
	tests := []struct {
		name string
		job  *api.Job
		m    Member
		want bool
	}{
		{"rank 0 of a gang", gang, member("ps", 0, 0), true},
		{"first task of a later group", gang, member("w", 1, 0), false},
		{"rank 1", job("g", 50, 0, true, group("w", 2, res(1, 1, 0))), member("w", 0, 1), false},
		{"gang of one", job("g", 50, 0, true, group("w", 1, res(1, 1, 0))), member("w", 0, 0), false},
		{"not a gang", job("j", 50, 0, false, group("w", 2, res(1, 1, 0))), member("w", 0, 0), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := NeedsRendezvousPort(tt.job, tt.m); got != tt.want {
				t.Errorf("NeedsRendezvousPort() = %v, want %v", got, tt.want)
			}
		})
	}
}
