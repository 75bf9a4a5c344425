package scheduler

import (
	"testing"
	"time"

	"github.com/phalanx-sched/phalanx/api"
)

func TestDrainingNodeTakesNoWork(t *testing.T) {
	n := &api.Node{ID: "n1", Name: "n1", Status: api.NodeReady, Drain: &api.Drain{Since: time.Unix(0, 0)},
		Resources: api.Resources{CPUMilli: 4000, MemoryBytes: 1 << 30}}
	job := &api.Job{ID: "j", State: api.JobQueued, Spec: api.JobSpec{Groups: []api.Group{
		{Name: "main", Count: 1, Task: api.Task{Resources: api.Resources{CPUMilli: 100, MemoryBytes: 1 << 20}}},
	}}}
	plan := Schedule(Input{Nodes: []*api.Node{n}, Jobs: []*JobRequest{{Job: job, Members: Missing(job, nil)}}})
	if len(plan.Jobs) != 0 || len(plan.Pending) != 1 {
		t.Fatalf("plan %+v", plan)
	}
	if want := "no ready nodes: 1 draining"; plan.Pending[0].Reason != want {
		t.Errorf("reason %q, want %q", plan.Pending[0].Reason, want)
	}
	p := Placement{Member: Member{Group: "main"}, NodeID: "n1"}
	if err := CheckPlacement(n, Usage{}, job.Spec.Groups[0].Task.Resources, p); err == nil {
		t.Error("CheckPlacement accepted a draining node")
	}
}
