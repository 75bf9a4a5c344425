package api

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Env sets what the control plane tells a member over the task's own
// variables; an allocation stored before the rank fields keeps its env
// as it was.
func TestAllocationEnv(t *testing.T) {
	task := Task{Env: map[string]string{"EPOCHS": "3", "PHALANX_RANK": "mine"}}
	for _, tc := range []struct {
		name  string
		alloc Allocation
		want  map[string]string
	}{
		{"a gang member", Allocation{ID: "a1", JobID: "j", JobName: "train", Group: "worker", Index: 2, Task: task,
			Rank: 3, NodeRank: 1, WorldSize: 4, MasterAddr: "10.0.0.1", MasterPort: 29500},
			map[string]string{"EPOCHS": "3", "PHALANX_JOB_ID": "j", "PHALANX_JOB_NAME": "train", "PHALANX_ALLOC_ID": "a1",
				"PHALANX_GROUP": "worker", "PHALANX_GROUP_INDEX": "2", "PHALANX_RANK": "3", "PHALANX_WORLD_SIZE": "4",
				"PHALANX_NODE_RANK": "1", "MASTER_ADDR": "10.0.0.1", "MASTER_PORT": "29500"}},
		{"a single task: no rendezvous", Allocation{ID: "a2", JobID: "j", JobName: "hello", Group: "main", Task: task, WorldSize: 1},
			map[string]string{"EPOCHS": "3", "PHALANX_JOB_ID": "j", "PHALANX_JOB_NAME": "hello", "PHALANX_ALLOC_ID": "a2",
				"PHALANX_GROUP": "main", "PHALANX_GROUP_INDEX": "0", "PHALANX_RANK": "0", "PHALANX_WORLD_SIZE": "1",
				"PHALANX_NODE_RANK": "0"}},
		{"stored before the rank fields", Allocation{ID: "a3", Task: task}, task.Env},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, tc.alloc.Env()); diff != "" {
				t.Errorf("Env (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.want, tc.alloc.WithEnv().Task.Env); diff != "" {
				t.Errorf("WithEnv (-want +got):\n%s", diff)
			}
			if len(task.Env) != 2 || task.Env["PHALANX_RANK"] != "mine" {
				t.Fatalf("the task's own env changed: %v", task.Env)
			}
		})
	}
}
