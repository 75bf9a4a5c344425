package scheduler

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/phalanx-sched/phalanx/api"
)

func withModel(r api.Resources, glob string, gpuMemGi int64) api.Resources {
	r.GPUModel, r.GPUMemoryBytes = glob, gpuMemGi*gi
	return r
}

func TestSchedulePlacement(t *testing.T) {
	w := func(i int) Member { return member("w", 0, i) }
	tests := []struct {
		name   string
		nodes  []*api.Node
		allocs []*api.Allocation
		jobs   []*api.Job
		want   Plan
	}{{
		name:   "best fit picks the fullest node",
		nodes:  []*api.Node{node("n1", 8, 32, 0), node("n2", 8, 32, 0)},
		allocs: []*api.Allocation{alloc("a1", "x", "n2", res(6, 24, 0))},
		jobs:   []*api.Job{job("j", 50, 0, false, group("w", 1, res(1, 1, 0)))},
		want:   Plan{Jobs: []JobPlacement{{JobID: "j", Placements: []Placement{place(w(0), "n2")}}}},
	}, {
		name:   "a GPU task goes to the node with the fewest free GPUs",
		nodes:  []*api.Node{node("n1", 32, 256, 8), node("n2", 32, 256, 8)},
		allocs: []*api.Allocation{alloc("a1", "x", "n2", res(6, 48, 6), 0, 1, 2, 3, 4, 5)},
		jobs:   []*api.Job{job("j", 50, 0, false, group("w", 1, res(1, 8, 1)))},
		want:   Plan{Jobs: []JobPlacement{{JobID: "j", Placements: []Placement{place(w(0), "n2", 6)}}}},
	}, {
		name:   "a task without GPUs avoids a node with free GPUs",
		nodes:  []*api.Node{node("n1", 4, 16, 8), node("n2", 4, 16, 0)},
		allocs: []*api.Allocation{alloc("a1", "x", "n1", res(3, 12, 7), 0, 1, 2, 3, 4, 5, 6)},
		jobs:   []*api.Job{job("j", 50, 0, false, group("w", 1, res(1, 4, 0)))},
		want:   Plan{Jobs: []JobPlacement{{JobID: "j", Placements: []Placement{place(w(0), "n2")}}}},
	}, {
		name:   "a task without GPUs uses a GPU node when nothing else fits",
		nodes:  []*api.Node{node("n1", 4, 16, 8), node("n2", 4, 16, 0)},
		allocs: []*api.Allocation{alloc("a1", "x", "n2", res(4, 16, 0))},
		jobs:   []*api.Job{job("j", 50, 0, false, group("w", 1, res(1, 4, 0)))},
		want:   Plan{Jobs: []JobPlacement{{JobID: "j", Placements: []Placement{place(w(0), "n1")}}}},
	}, {
		name:  "ties go to the lowest node ID",
		nodes: []*api.Node{node("n2", 8, 32, 0), node("n1", 8, 32, 0)},
		jobs:  []*api.Job{job("j", 50, 0, false, group("w", 1, res(1, 1, 0)))},
		want:  Plan{Jobs: []JobPlacement{{JobID: "j", Placements: []Placement{place(w(0), "n1")}}}},
	}, {
		name:   "lowest free GPU indices",
		nodes:  []*api.Node{node("n1", 32, 256, 8)},
		allocs: []*api.Allocation{alloc("a1", "x", "n1", res(2, 16, 2), 0, 2)},
		jobs:   []*api.Job{job("j", 50, 0, false, group("w", 1, res(1, 8, 3)))},
		want:   Plan{Jobs: []JobPlacement{{JobID: "j", Placements: []Placement{place(w(0), "n1", 1, 3, 4)}}}},
	}, {
		name:  "gpu_model glob",
		nodes: []*api.Node{gpuModel(node("n1", 32, 256, 8), "NVIDIA A100-SXM4-80GB", 80), node("n2", 32, 256, 8)},
		jobs:  []*api.Job{job("j", 50, 0, false, group("w", 1, withModel(res(1, 8, 1), "*H100*", 0)))},
		want:  Plan{Jobs: []JobPlacement{{JobID: "j", Placements: []Placement{place(w(0), "n2", 0)}}}},
	}, {
		name:  "gpu_memory minimum",
		nodes: []*api.Node{gpuModel(node("n1", 32, 256, 8), h100, 40), node("n2", 32, 256, 8)},
		jobs:  []*api.Job{job("j", 50, 0, false, group("w", 1, withModel(res(1, 8, 1), "", 60)))},
		want:  Plan{Jobs: []JobPlacement{{JobID: "j", Placements: []Placement{place(w(0), "n2", 0)}}}},
	}, {
		name:  "unhealthy GPUs are skipped",
		nodes: []*api.Node{unhealthy(node("n1", 32, 256, 4), 0, 2)},
		jobs:  []*api.Job{job("j", 50, 0, false, group("w", 1, res(1, 8, 2)))},
		want:  Plan{Jobs: []JobPlacement{{JobID: "j", Placements: []Placement{place(w(0), "n1", 1, 3)}}}},
	}, {
		name:  "down nodes are skipped",
		nodes: []*api.Node{down(node("n1", 8, 32, 0)), node("n2", 8, 32, 0)},
		jobs:  []*api.Job{job("j", 50, 0, false, group("w", 1, res(1, 1, 0)))},
		want:  Plan{Jobs: []JobPlacement{{JobID: "j", Placements: []Placement{place(w(0), "n2")}}}},
	}, {
		name:  "live allocations hold GPUs; terminal ones and unknown nodes are ignored",
		nodes: []*api.Node{node("n1", 32, 256, 3)},
		allocs: []*api.Allocation{
			alloc("a1", "x", "n1", res(1, 1, 1), 0),
			func() *api.Allocation {
				a := alloc("a2", "x", "n1", res(1, 1, 1), 1)
				a.State = api.AllocFailed
				return a
			}(),
			alloc("a3", "x", "gone", res(1, 1, 1), 2),
		},
		jobs: []*api.Job{job("j", 50, 0, false, group("w", 1, res(1, 8, 2)))},
		want: Plan{Jobs: []JobPlacement{{JobID: "j", Placements: []Placement{place(w(0), "n1", 1, 2)}}}},
	}, {
		name:  "gang places every member",
		nodes: []*api.Node{node("n1", 32, 256, 8), node("n2", 32, 256, 8)},
		jobs:  []*api.Job{job("g", 50, 0, true, group("w", 2, res(8, 64, 8)))},
		want: Plan{Jobs: []JobPlacement{{JobID: "g", Placements: []Placement{
			withPort(place(w(0), "n1", 0, 1, 2, 3, 4, 5, 6, 7), 29500), place(w(1), "n2", 0, 1, 2, 3, 4, 5, 6, 7),
		}}}},
	}, {
		name:  "gang with several groups",
		nodes: []*api.Node{node("n1", 16, 64, 2), node("n2", 8, 32, 0)},
		jobs:  []*api.Job{job("g", 50, 0, true, group("ps", 1, res(4, 16, 0)), group("worker", 2, res(4, 16, 1)))},
		want: Plan{Jobs: []JobPlacement{{JobID: "g", Placements: []Placement{
			withPort(place(member("ps", 0, 0), "n2"), 29500), place(member("worker", 1, 0), "n1", 0), place(member("worker", 1, 1), "n1", 1),
		}}}},
	}, {
		name:  "a gang that does not fit is rolled back for a smaller job",
		nodes: []*api.Node{node("n1", 32, 256, 8), node("n2", 32, 256, 8)},
		jobs: []*api.Job{
			job("big", 60, 0, true, group("w", 3, res(8, 64, 8))),
			job("small", 50, 0, false, group("w", 2, res(8, 64, 8))),
		},
		want: Plan{
			Jobs: []JobPlacement{{JobID: "small", Placements: []Placement{
				place(w(0), "n1", 0, 1, 2, 3, 4, 5, 6, 7), place(w(1), "n2", 0, 1, 2, 3, 4, 5, 6, 7),
			}}},
			Pending: []Pending{{JobID: "big", Reason: "gang of 3: only 2 members fit; 0/2 nodes fit the next: 2 too few free GPUs"}},
		},
	}, {
		name:  "a gang that did not fit does not stop a smaller gang of the same shape",
		nodes: []*api.Node{node("n1", 32, 256, 8), node("n2", 32, 256, 8), node("n3", 32, 256, 8)},
		jobs: []*api.Job{
			job("big", 60, 0, true, group("w", 4, res(8, 64, 8))),
			job("small", 50, 0, true, group("w", 3, res(8, 64, 8))),
		},
		want: Plan{
			Jobs: []JobPlacement{{JobID: "small", Placements: []Placement{
				withPort(place(w(0), "n1", 0, 1, 2, 3, 4, 5, 6, 7), 29500), place(w(1), "n2", 0, 1, 2, 3, 4, 5, 6, 7), place(w(2), "n3", 0, 1, 2, 3, 4, 5, 6, 7),
			}}},
			Pending: []Pending{{JobID: "big", Reason: "gang of 4: only 3 members fit; 0/3 nodes fit the next: 3 too few free GPUs"}},
		},
	}, {
		name:  "a job without gang places what fits",
		nodes: []*api.Node{node("n1", 32, 256, 8), node("n2", 32, 256, 8)},
		jobs:  []*api.Job{job("j", 50, 0, false, group("w", 3, res(8, 64, 8)))},
		want: Plan{
			Jobs: []JobPlacement{{JobID: "j", Placements: []Placement{
				place(w(0), "n1", 0, 1, 2, 3, 4, 5, 6, 7), place(w(1), "n2", 0, 1, 2, 3, 4, 5, 6, 7),
			}}},
			Pending: []Pending{{JobID: "j", Reason: "2 of 3 members placed; 0/2 nodes fit: 2 too few free GPUs"}},
		},
	}, {
		name:  "a higher priority takes the last slot",
		nodes: []*api.Node{node("n1", 8, 32, 1)},
		jobs: []*api.Job{
			job("low", 10, 0, false, group("w", 1, res(1, 1, 1))),
			job("high", 90, 5, false, group("w", 1, res(1, 1, 1))),
		},
		want: Plan{
			Jobs:    []JobPlacement{{JobID: "high", Placements: []Placement{place(w(0), "n1", 0)}}},
			Pending: []Pending{{JobID: "low", Reason: "0/1 nodes fit: 1 too few free GPUs"}},
		},
	}, {
		name:  "equal priority: older first",
		nodes: []*api.Node{node("n1", 8, 32, 1)},
		jobs: []*api.Job{
			job("a-new", 50, 5, false, group("w", 1, res(1, 1, 1))),
			job("b-old", 50, 0, false, group("w", 1, res(1, 1, 1))),
		},
		want: Plan{
			Jobs:    []JobPlacement{{JobID: "b-old", Placements: []Placement{place(w(0), "n1", 0)}}},
			Pending: []Pending{{JobID: "a-new", Reason: "0/1 nodes fit: 1 too few free GPUs"}},
		},
	}, {
		name:  "equal priority and age: lower ID first",
		nodes: []*api.Node{node("n1", 8, 32, 1)},
		jobs: []*api.Job{
			job("b", 50, 0, false, group("w", 1, res(1, 1, 1))),
			job("a", 50, 0, false, group("w", 1, res(1, 1, 1))),
		},
		want: Plan{
			Jobs:    []JobPlacement{{JobID: "a", Placements: []Placement{place(w(0), "n1", 0)}}},
			Pending: []Pending{{JobID: "b", Reason: "0/1 nodes fit: 1 too few free GPUs"}},
		},
	}, {
		name:  "only queued and running jobs are considered",
		nodes: []*api.Node{node("n1", 8, 32, 0)},
		jobs: []*api.Job{
			func() *api.Job {
				j := job("done", 90, 0, false, group("w", 1, res(1, 1, 0)))
				j.State = api.JobSucceeded
				return j
			}(),
			func() *api.Job {
				j := job("run", 50, 0, false, group("w", 1, res(1, 1, 0)))
				j.State = api.JobRunning
				return j
			}(),
		},
		want: Plan{Jobs: []JobPlacement{{JobID: "run", Placements: []Placement{place(w(0), "n1")}}}},
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

func TestSchedulePendingReasons(t *testing.T) {
	tests := []struct {
		name   string
		nodes  []*api.Node
		allocs []*api.Allocation
		job    *api.Job
		want   string
	}{{
		name:  "dynamic causes counted by node",
		nodes: []*api.Node{node("n1", 8, 64, 1), node("n2", 8, 64, 1), node("n3", 8, 8, 1)},
		allocs: []*api.Allocation{
			alloc("a1", "x", "n1", res(1, 1, 1), 0),
			alloc("a2", "x", "n2", res(1, 1, 1), 0),
		},
		job:  job("j", 50, 0, false, group("w", 1, res(1, 16, 1))),
		want: "0/3 nodes fit: 2 too few free GPUs, 1 not enough memory",
	}, {
		name:  "equal counts sorted by text",
		nodes: []*api.Node{down(node("n1", 8, 64, 1)), gpuModel(node("n2", 8, 64, 1), "NVIDIA A100-SXM4-80GB", 80), unhealthy(node("n3", 8, 64, 1), 0)},
		job:   job("j", 50, 0, false, group("w", 1, withModel(res(1, 1, 1), "*H100*", 0))),
		want:  "0/3 nodes fit: 1 down, 1 gpu_model mismatch, 1 unhealthy GPUs",
	}, {
		name:   "GPU count and memory",
		nodes:  []*api.Node{gpuModel(node("n1", 8, 64, 8), h100, 40), node("n2", 8, 64, 2), node("n3", 8, 64, 4)},
		allocs: []*api.Allocation{alloc("a1", "x", "n3", res(1, 1, 1), 0)},
		job:    job("j", 50, 0, false, group("w", 1, withModel(res(1, 1, 4), "", 60))),
		want:   "0/3 nodes fit: 1 gpu_memory too small, 1 too few GPUs, 1 too few free GPUs",
	}, {
		name:   "not enough CPU",
		nodes:  []*api.Node{node("n1", 8, 64, 0)},
		allocs: []*api.Allocation{alloc("a1", "x", "n1", res(4, 0, 0))},
		job:    job("j", 50, 0, false, group("w", 1, res(6, 1, 0))),
		want:   "0/1 nodes fit: 1 not enough CPU",
	}, {
		name: "no nodes",
		job:  job("j", 50, 0, false, group("w", 1, res(1, 1, 0))),
		want: "no ready nodes",
	}, {
		name:  "no ready nodes",
		nodes: []*api.Node{down(node("n1", 8, 64, 0))},
		job:   job("j", 50, 0, false, group("w", 1, res(1, 1, 0))),
		want:  "no ready nodes: 1 down",
	}, {
		name:  "more GPUs than any node has",
		nodes: []*api.Node{node("n1", 64, 512, 8), node("n2", 64, 512, 8)},
		job:   job("j", 50, 0, false, group("w", 1, res(1, 1, 16))),
		want:  "no node has 16 GPUs in total",
	}, {
		name:  "more CPU than any node has",
		nodes: []*api.Node{node("n1", 64, 512, 8)},
		job:   job("j", 50, 0, false, group("w", 1, res(128, 1, 0))),
		want:  "no node has 128 CPUs in total",
	}, {
		name:  "no node has enough matching GPUs",
		nodes: []*api.Node{gpuModel(node("n1", 8, 64, 8), h100, 40), node("n2", 8, 64, 2)},
		job:   job("j", 50, 0, false, group("w", 1, withModel(res(1, 1, 4), "*H100*", 60))),
		want:  `no node has 4 GPUs with gpu_model "*H100*" and gpu_memory >= 60Gi in total`,
	}, {
		name:  "no node has it all at once",
		nodes: []*api.Node{node("n1", 64, 8, 0), node("n2", 8, 512, 0)},
		job:   job("j", 50, 0, false, group("w", 1, res(16, 16, 0))),
		want:  "no node has 16 CPUs and 16Gi memory in total",
	}, {
		name:   "gang with no member placed",
		nodes:  []*api.Node{node("n1", 8, 16, 0)},
		allocs: []*api.Allocation{alloc("a1", "x", "n1", res(4, 0, 0))},
		job:    job("g", 50, 0, true, group("w", 2, res(6, 1, 0))),
		want:   "gang of 2: 0/1 nodes fit: 1 not enough CPU",
	}, {
		name:  "gang with one member placed",
		nodes: []*api.Node{node("n1", 8, 16, 0)},
		job:   job("g", 50, 0, true, group("w", 2, res(5, 1, 0))),
		want:  "gang of 2: only 1 member fits; 0/1 nodes fit the next: 1 not enough CPU",
	}, {
		name:  "gang too large for any node",
		nodes: []*api.Node{node("n1", 8, 16, 8)},
		job:   job("g", 50, 0, true, group("w", 4, res(1, 1, 16))),
		want:  "gang of 4: no node has 16 GPUs in total",
	}, {
		name:  "bad gpu_model glob",
		nodes: []*api.Node{node("n1", 8, 16, 8)},
		job:   job("j", 50, 0, false, group("w", 1, withModel(res(1, 1, 1), "[", 0))),
		want:  `group w: gpu_model "[": syntax error in pattern`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Schedule(Input{Nodes: tt.nodes, Allocs: tt.allocs, Jobs: requests(tt.job), Now: t0})
			want := Plan{Pending: []Pending{{JobID: tt.job.ID, Reason: tt.want}}}
			if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Schedule() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestScheduleInvalidMembers(t *testing.T) {
	j := job("j", 50, 0, false, group("w", 2, res(1, 1, 0)))
	tests := []struct {
		name    string
		members []Member
		want    string
	}{
		{"no such group", []Member{member("w", 3, 0)}, "invalid member w[0]: job has no group at position 3"},
		{"wrong group name", []Member{member("x", 0, 0)}, `invalid member x[0]: group at position 0 is "w"`},
		{"index past count", []Member{member("w", 0, 2)}, "invalid member w[2]: group has 2 tasks"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := Input{Nodes: []*api.Node{node("n1", 8, 32, 0)}, Jobs: []*JobRequest{{Job: j, Members: tt.members}}}
			want := Plan{Pending: []Pending{{JobID: "j", Reason: tt.want}}}
			if diff := cmp.Diff(want, Schedule(in), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Schedule() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestScheduleMemberOrderAndDuplicates(t *testing.T) {
	j := job("j", 50, 0, false, group("w", 3, res(1, 1, 1)))
	in := Input{
		Nodes: []*api.Node{node("n1", 8, 32, 4)},
		Jobs:  []*JobRequest{{Job: j, Members: []Member{member("w", 0, 2), member("w", 0, 0), member("w", 0, 2)}}},
	}
	want := Plan{Jobs: []JobPlacement{{JobID: "j", Placements: []Placement{
		place(member("w", 0, 0), "n1", 0), place(member("w", 0, 2), "n1", 1),
	}}}}
	if diff := cmp.Diff(want, Schedule(in), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("Schedule() mismatch (-want +got):\n%s", diff)
	}
}
