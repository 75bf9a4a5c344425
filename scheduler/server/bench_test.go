package server

import (
	"fmt"
	"testing"

	"github.com/phalanx-sched/phalanx/api"
	"github.com/phalanx-sched/phalanx/scheduler"
	"github.com/phalanx-sched/phalanx/scheduler/fsm"
	"github.com/phalanx-sched/phalanx/scheduler/state"
)

// BenchmarkLeaderPass is one scheduling pass of the leader as the
// throughput benchmark sees it once the cluster is nearly full: 5,000
// nodes of 8 GPUs, 380 running jobs holding 38,000 GPUs, and 10 new
// single-GPU jobs to place. It times what the leader does per pass
// besides Raft: read the snapshot into the scheduler's input, schedule,
// and build the Place entry.
func BenchmarkLeaderPass(b *testing.B) {
	store := state.New()
	f := fsm.New(store)
	index := uint64(0)
	apply := func(c fsm.Command, payload any) {
		index++
		data, err := fsm.Encode(c, payload)
		if err != nil {
			b.Fatal(err)
		}
		if err, ok := f.ApplyEntry(index, data).(error); ok {
			b.Fatal(err)
		}
	}
	const nodes, gpus = 5000, 8
	for i := range nodes {
		n := api.Node{ID: fmt.Sprintf("node-%05d", i), Name: fmt.Sprintf("sim-%d", i), Address: "127.0.0.1:1",
			Status: api.NodeReady, Resources: api.Resources{CPUMilli: 64000, MemoryBytes: 512 << 30, GPUs: gpus}, Ports: api.DefaultPorts}
		for g := range gpus {
			n.GPUs = append(n.GPUs, api.GPU{Index: g, UUID: fmt.Sprintf("GPU-%d-%d", i, g), Model: "sim", MemoryBytes: 80 << 30, Healthy: true})
		}
		apply(fsm.CmdNodeRegister, &fsm.NodeRegister{Node: n})
	}
	job := func(id string, count int) api.Job {
		return api.Job{ID: id, Name: id, Queue: api.DefaultQueue, Priority: 50, SubmitTime: t0, Spec: api.JobSpec{
			Name: id, Queue: api.DefaultQueue, Priority: 50, Groups: []api.Group{{Name: "w", Count: count,
				Task: api.Task{Image: "none", Resources: api.Resources{CPUMilli: 1000, MemoryBytes: 1 << 30, GPUs: 1}}}}}}
	}
	slot := 0
	for j := range 380 {
		id := fmt.Sprintf("tput-%03d", j)
		apply(fsm.CmdJobRegister, &fsm.JobRegister{Job: job(id, 100)})
		pj := fsm.PlaceJob{JobID: id}
		for t := range 100 {
			pj.Members = append(pj.Members, fsm.PlaceMember{AllocID: fmt.Sprintf("%s-%03d", id, t), Index: t,
				NodeID: fmt.Sprintf("node-%05d", slot/gpus), GPUIndices: []int{slot % gpus}})
			slot++
		}
		apply(fsm.CmdPlace, &fsm.Place{Jobs: []fsm.PlaceJob{pj}, Time: t0})
	}
	for j := range 10 {
		apply(fsm.CmdJobRegister, &fsm.JobRegister{Job: job(fmt.Sprintf("new-%d", j), 1)})
	}
	b.ResetTimer()
	for range b.N {
		snap := store.Snapshot()
		in := passInput(snap, snap.UnplacedJobs(), t0, 0)
		if len(in.Jobs) != 10 || len(in.Allocs) != 38000 {
			b.Fatalf("%d jobs to place, %d live allocations", len(in.Jobs), len(in.Allocs))
		}
		jobs := map[string]*api.Job{}
		for _, r := range in.Jobs {
			jobs[r.Job.ID] = r.Job
		}
		if cmd := placeCommand(scheduler.Schedule(in), jobs, t0); len(cmd.Jobs) != 10 {
			b.Fatalf("placed %d jobs", len(cmd.Jobs))
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/pass")
}
