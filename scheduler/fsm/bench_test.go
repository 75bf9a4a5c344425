package fsm

import (
	"bytes"
	"fmt"
	"io"
	"runtime"
	"testing"
	"time"

	"github.com/phalanx-sched/phalanx/api"
	"github.com/phalanx-sched/phalanx/scheduler/state"
)

// applier returns a function that encodes a command and applies it to f
// at the next index, as Raft would, failing b on an error response.
func applier(b *testing.B, f *FSM) func(Command, any) {
	index := uint64(0)
	return func(c Command, payload any) {
		index++
		data, err := Encode(c, payload)
		if err != nil {
			b.Fatal(err)
		}
		if resp, ok := f.ApplyEntry(index, data).(error); ok {
			b.Fatal(resp)
		}
	}
}

// BenchmarkState100kJobs fills the state with 100,000 finished jobs of one
// allocation each, through the FSM as Raft would (register, Place,
// Report), and reports the heap the state holds, the snapshot's size, and
// how long a restore takes.
// Run it with -benchtime 1x.
func BenchmarkState100kJobs(b *testing.B) {
	const jobs = 100_000
	for i := 0; i < b.N; i++ {
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)

		f := New(state.New())
		apply := applier(b, f)
		n := node(fmt.Sprintf("n%d", 0), 8)
		apply(CmdNodeRegister, &NodeRegister{Node: n})
		start := time.Now()
		for j := 0; j < jobs; j++ {
			id := fmt.Sprintf("train-%07d", j)
			jb := job(id, false, 1, 0, 0)
			jb.Spec.Groups[0].Task.Command = []string{"python", "train.py", "--epochs", "3"}
			jb.Spec.Groups[0].Task.Env = map[string]string{"EPOCHS": "3"}
			apply(CmdJobRegister, &JobRegister{Job: jb})
			allocID := "a-" + id
			apply(CmdPlace, &Place{Jobs: []PlaceJob{{JobID: id, Members: []PlaceMember{{AllocID: allocID, NodeID: n.ID}}}}, Time: t0})
			apply(CmdReport, ptr(update(allocID, api.AllocSucceeded, exit(0))))
		}
		fill := time.Since(start)

		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)

		sink := persist(b, f)
		size := sink.Len()
		restored := New(state.New())
		start = time.Now()
		if err := restored.Restore(io.NopCloser(bytes.NewReader(sink.Bytes()))); err != nil {
			b.Fatal(err)
		}
		restore := time.Since(start)
		if got := len(restored.State().Snapshot().Jobs()); got != jobs {
			b.Fatalf("restored %d jobs", got)
		}
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "MiB-heap-100k-jobs")
		b.ReportMetric(float64(size)/(1<<20), "MiB-snapshot")
		b.ReportMetric(float64(restore.Milliseconds()), "ms-restore")
		b.ReportMetric(float64(3*jobs)/fill.Seconds(), "entries/s-applied")
		b.ReportMetric(0, "ns/op")
		runtime.KeepAlive(f)
	}
}

// BenchmarkPlacementCycle is the FSM's share of the control-plane
// throughput benchmark, per server: on 5,000 nodes of 8 GPUs, jobs of 100
// single-GPU tasks are registered, placed (one Place entry a job) and
// reported running by their nodes (Report entries of 200), each entry
// encoded and decoded as Raft carries it. It reports the cost per
// placement of all three.
func BenchmarkPlacementCycle(b *testing.B) {
	const nodes, tasks, perNode = 5000, 100, 8
	f := New(state.New())
	apply := applier(b, f)
	var ns []api.Node
	for i := 0; i < nodes; i++ {
		n := node(fmt.Sprintf("node-%05d", i), perNode)
		n.Resources.CPUMilli, n.Resources.MemoryBytes = 64000, 512<<30
		apply(CmdNodeRegister, &NodeRegister{Node: n})
		ns = append(ns, n)
	}
	// Slots in the order the jobs fill them; the benchmark stops before
	// the cluster is full.
	slot := 0
	jobs := min(b.N, nodes*perNode/tasks)
	b.ResetTimer()
	var pending []api.AllocUpdate
	for j := 0; j < jobs; j++ {
		id := fmt.Sprintf("tput-%06d", j)
		jb := job(id, false, tasks, 0, 1)
		jb.Spec.Groups[0].Task.Env = map[string]string{"SIM_DURATION": "1h"}
		apply(CmdJobRegister, &JobRegister{Job: jb})
		plan := PlaceJob{JobID: id}
		for t := 0; t < tasks; t++ {
			n := ns[slot%nodes]
			g := slot / nodes
			slot++
			allocID := fmt.Sprintf("%s-%03d-0000-0000-000000000000", id, t)
			plan.Members = append(plan.Members, PlaceMember{AllocID: allocID, Index: t, NodeID: n.ID, GPUIndices: []int{g}})
			pending = append(pending, api.AllocUpdate{ID: allocID, NodeID: n.ID, State: api.AllocRunning, Time: t0})
		}
		apply(CmdPlace, &Place{Jobs: []PlaceJob{plan}, Time: t0})
		for len(pending) >= 200 {
			apply(CmdReport, &AllocUpdate{Updates: pending[:200]})
			pending = pending[200:]
		}
	}
	b.StopTimer()
	if jobs > 0 {
		b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(jobs*tasks), "µs/placement")
	}
}
