package executor

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/phalanx-sched/phalanx/api"
)

func TestTaskEnv(t *testing.T) {
	tests := []struct {
		name   string
		env    map[string]string
		gpus   []string
		noGPUs string
		ws     string
		want   []string
	}{
		{"no GPUs", map[string]string{"B": "2", "A": "1"}, nil, "void", "",
			[]string{"A=1", "B=2", "NVIDIA_VISIBLE_DEVICES=void", "CUDA_VISIBLE_DEVICES="}},
		{"no GPUs, env mode", nil, nil, "", "",
			[]string{"NVIDIA_VISIBLE_DEVICES=", "CUDA_VISIBLE_DEVICES="}},
		{"two GPUs", map[string]string{"X": "y"}, []string{"GPU-a", "GPU-b"}, "void", "",
			[]string{"X=y", "NVIDIA_VISIBLE_DEVICES=GPU-a,GPU-b", "CUDA_VISIBLE_DEVICES=GPU-a,GPU-b"}},
		{"a task cannot widen its GPUs", map[string]string{"CUDA_VISIBLE_DEVICES": "0,1,2,3", "NVIDIA_VISIBLE_DEVICES": "all"},
			[]string{"GPU-a"}, "void", "",
			[]string{"NVIDIA_VISIBLE_DEVICES=GPU-a", "CUDA_VISIBLE_DEVICES=GPU-a"}},
		{"no workspace keeps the task's variable", map[string]string{"PHALANX_WORKSPACE": "mine"}, nil, "", "",
			[]string{"PHALANX_WORKSPACE=mine", "NVIDIA_VISIBLE_DEVICES=", "CUDA_VISIBLE_DEVICES="}},
		{"a workspace replaces it", map[string]string{"PHALANX_WORKSPACE": "mine", "A": "1"}, nil, "", "/workspace",
			[]string{"A=1", "NVIDIA_VISIBLE_DEVICES=", "CUDA_VISIBLE_DEVICES=", "PHALANX_WORKSPACE=/workspace"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := &api.Allocation{GPUs: tt.gpus, Task: api.Task{Env: tt.env}}
			if diff := cmp.Diff(tt.want, TaskEnv(a, tt.noGPUs, tt.ws)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	// A member's rank and rendezvous come from the allocation's fields.
	a := &api.Allocation{ID: "a", JobID: "j", JobName: "n", Group: "g", Index: 1, Rank: 1, WorldSize: 2,
		MasterAddr: "10.0.0.1", MasterPort: 29500, Task: api.Task{Env: map[string]string{"A": "1"}}}
	want := []string{"A=1", "MASTER_ADDR=10.0.0.1", "MASTER_PORT=29500", "PHALANX_ALLOC_ID=a", "PHALANX_GROUP=g",
		"PHALANX_GROUP_INDEX=1", "PHALANX_JOB_ID=j", "PHALANX_JOB_NAME=n", "PHALANX_NODE_RANK=0", "PHALANX_RANK=1",
		"PHALANX_WORLD_SIZE=2", "NVIDIA_VISIBLE_DEVICES=void", "CUDA_VISIBLE_DEVICES="}
	if diff := cmp.Diff(want, TaskEnv(a, "void", "")); diff != "" {
		t.Errorf("a gang member (-want +got):\n%s", diff)
	}
}
