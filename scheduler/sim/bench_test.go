package sim

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/phalanx-sched/phalanx/api"
	"github.com/phalanx-sched/phalanx/api/jobspec"
	"github.com/phalanx-sched/phalanx/scheduler"
)

// BenchmarkSim100k simulates 100,000 jobs on 5,000 nodes of 8 GPUs in
// four queues: mostly one-GPU jobs, some whole-node jobs and 2-4 node
// gangs, arriving over about 10 hours at a load near the cluster's
// capacity, by pass interval: 10s is DefaultInterval, the one meant to
// take at most 60 s. It reports the run's passes and preemptions, the
// heap in use at the end (MemStats), and the process's peak resident
// memory (VmHWM).
//
//	go test -run '^$' -bench 'Sim100k/interval=10s' -benchtime 1x ./scheduler/sim/
func BenchmarkSim100k(b *testing.B) {
	c, w := bigInput(5000, 100_000, 1)
	for _, interval := range []time.Duration{time.Second, 5 * time.Second, DefaultInterval, 30 * time.Second, time.Minute} {
		b.Run("interval="+interval.String(), func(b *testing.B) {
			cfg := DefaultConfig()
			cfg.Interval = interval
			var r *Result
			for b.Loop() {
				var err error
				if r, err = Run(c, w, cfg); err != nil {
					b.Fatal(err)
				}
			}
			reportRun(b, r)
		})
	}
}

// reportRun adds a run's figures and the memory in use to b's report.
func reportRun(b *testing.B, r *Result) {
	if v := r.Summary.Violations; len(v) > 0 {
		b.Errorf("%d violations, the first: %s", len(v), v[0])
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(r.Summary.Passes), "passes")
	b.ReportMetric(float64(r.Summary.Preemptions), "preemptions")
	b.ReportMetric(float64(r.Summary.Finished), "finished")
	b.ReportMetric(r.Summary.GPUUtilization, "gpu-util")
	b.ReportMetric(r.Summary.Makespan, "virtual-s")
	var wait float64
	for _, q := range r.Summary.Queues {
		wait = max(wait, q.MeanWait)
	}
	b.ReportMetric(wait, "max-mean-wait-s")
	b.ReportMetric(float64(ms.HeapAlloc)/(1<<20), "heap-MiB")
	b.ReportMetric(float64(ms.Sys)/(1<<20), "sys-MiB")
	if hwm := vmHWM(); hwm > 0 {
		b.ReportMetric(float64(hwm)/1024, "VmHWM-MiB")
	}
}

// vmHWM is the process's peak resident set in KiB, from /proc, or 0.
func vmHWM() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb
		}
	}
	return 0
}

// bigInput makes a cluster of nodes 8-GPU nodes in two NVLink domains and
// a workload of jobs, from seed.
func bigInput(nodes, jobs int, seed uint64) (*Cluster, *Workload) {
	c := &Cluster{Queues: []api.Queue{
		{Name: "research", Weight: 2, Borrow: true},
		{Name: "prod", Weight: 2, Borrow: true},
		{Name: "ci", Weight: 1, Borrow: true},
		{Name: "batch", Weight: 1, Borrow: true},
	}}
	width := len(strconv.Itoa(nodes - 1))
	for i := range nodes {
		name := fmt.Sprintf("n-%0*d", width, i)
		n := &api.Node{ID: name, Name: name, Status: api.NodeReady, Ports: api.DefaultPorts,
			Resources: api.Resources{CPUMilli: 64000, MemoryBytes: 512 << 30, GPUs: 8}}
		for g := range 8 {
			peers := []int{}
			for p := g &^ 3; p < g&^3+4; p++ {
				if p != g {
					peers = append(peers, p)
				}
			}
			n.GPUs = append(n.GPUs, api.GPU{Index: g, UUID: fmt.Sprintf("GPU-%s-%d", name, g), Model: "NVIDIA H100", MemoryBytes: 80 << 30, Healthy: true, NVLinkPeers: peers})
		}
		c.Nodes = append(c.Nodes, n)
	}
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	queues := []string{"research", "prod", "ci", "batch"}
	w := &Workload{Jobs: make([]Arrival, jobs)}
	// About 190 GPU-minutes a job on 40,000 GPUs: one arrival every
	// ~0.33s keeps the cluster near full.
	gap := time.Duration(float64(time.Second) * 0.33 * 5000 / float64(nodes))
	at := time.Duration(0)
	idWidth := len(strconv.Itoa(jobs - 1))
	for i := range w.Jobs {
		at += time.Duration(rng.Int64N(int64(2 * gap)))
		dur := time.Duration(10+rng.IntN(50)) * time.Minute
		count, gpus, gang := 1, 1, false
		switch k := rng.IntN(100); {
		case k < 70:
		case k < 90:
			gpus = 8
		case k < 98:
			count, gpus, gang = 2+rng.IntN(3), 8, true
		default:
			gpus = 0
		}
		walltime := dur + dur/4
		if rng.IntN(20) == 0 {
			walltime = dur / 2 // some overrun theirs
		}
		spec := &api.JobSpec{
			Name: fmt.Sprintf("job-%d", i), Queue: queues[rng.IntN(len(queues))], Priority: 20 + 10*rng.IntN(7),
			Gang: gang, Walltime: api.Duration(walltime), Network: api.NetworkHost,
			Groups: []api.Group{{Name: "main", Count: count, Task: api.Task{Image: "x", KillTimeout: api.Duration(jobspec.DefaultKillTimeout),
				Resources: api.Resources{CPUMilli: int64(max(gpus, 1)) * 4000, MemoryBytes: int64(max(gpus, 1)) * (32 << 30), GPUs: gpus}}}},
		}
		w.Jobs[i] = Arrival{ID: fmt.Sprintf("j%0*d", idWidth, i), Name: spec.Name, SubmitAt: at, Duration: dur, Spec: spec}
	}
	return c, w
}

// BenchmarkSimExamples runs the shipped example at the 1s interval its
// README uses, for the cost of a small simulation.
func BenchmarkSimExamples(b *testing.B) {
	c, w := readExample(b, "../../examples/sim/cluster.yaml", "../../examples/sim/workload.yaml")
	cfg := DefaultConfig()
	cfg.Interval = time.Second
	for b.Loop() {
		if _, err := Run(c, w, cfg); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPass5k is one scheduling pass of BenchmarkSim100k's run, taken
// at virtual hour 3 (the cluster full, thousands of live allocations, a
// backlog): what each of the default run's ~33,000 passes costs. It
// reports the input's size with the time.
//
//	go test -run '^$' -bench Pass5k ./scheduler/sim/
func BenchmarkPass5k(b *testing.B) {
	in := midRunInput(5000, 3*time.Hour)
	b.ReportAllocs()
	var plan scheduler.Plan
	for b.Loop() {
		plan = scheduler.Schedule(in)
	}
	b.ReportMetric(float64(len(in.Allocs)), "allocs")
	b.ReportMetric(float64(len(in.Jobs)), "waiting")
	b.ReportMetric(float64(len(plan.Jobs)), "placed")
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/pass")
}

// midRunInput runs BenchmarkSim100k's workload on nodes nodes, a pass a
// minute, up to the first pass at or after virtual time at, and returns
// a copy of that pass's input that the rest of the run cannot change.
func midRunInput(nodes int, at time.Duration) scheduler.Input {
	c, w := bigInput(nodes, 100_000, 1)
	cfg := DefaultConfig()
	cfg.Interval = time.Minute
	s := newSim(c, w, cfg)
	var got scheduler.Input
	s.schedule = func(in scheduler.Input) scheduler.Plan {
		if s.now >= at && got.Nodes == nil {
			got = copyInput(in)
			s.stopped = true
		}
		return scheduler.Schedule(in)
	}
	s.loop()
	return got
}

// copyInput copies the allocations and jobs of in, which the simulation
// changes as it goes on.
func copyInput(in scheduler.Input) scheduler.Input {
	jobs := map[string]*api.Job{}
	job := func(j *api.Job) *api.Job {
		if jobs[j.ID] == nil {
			c := *j
			jobs[j.ID] = &c
		}
		return jobs[j.ID]
	}
	out := in
	out.Allocs = make([]*api.Allocation, len(in.Allocs))
	for i, a := range in.Allocs {
		c := *a
		out.Allocs[i] = &c
	}
	out.Running = make([]*api.Job, len(in.Running))
	for i, j := range in.Running {
		out.Running[i] = job(j)
	}
	out.Jobs = make([]*scheduler.JobRequest, len(in.Jobs))
	for i, r := range in.Jobs {
		out.Jobs[i] = &scheduler.JobRequest{Job: job(r.Job), Members: slices.Clone(r.Members)}
	}
	return out
}
