package scheduler

import (
	"fmt"
	"testing"
	"time"

	"github.com/phalanx-sched/phalanx/api"
)

func benchNodes(n, gpus int) []*api.Node {
	nodes := make([]*api.Node, n)
	for i := range nodes {
		nodes[i] = node(fmt.Sprintf("n%04d", i), 128, 1024, gpus)
	}
	return nodes
}

// BenchmarkScheduleSingleGPU places single-GPU tasks (non-gang jobs of count
// 1) on 1,000 nodes of 8 GPUs. With 10,000 tasks the cluster's 8,000 GPUs
// run out and 2,000 jobs stay pending, each explained.
func BenchmarkScheduleSingleGPU(b *testing.B) {
	for _, tasks := range []int{8000, 10000} {
		b.Run(fmt.Sprintf("tasks=%d", tasks), func(b *testing.B) {
			jobs := make([]*JobRequest, tasks)
			for i := range jobs {
				jobs[i] = request(job(fmt.Sprintf("j%05d", i), 50, i, false, group("w", 1, res(1, 8, 1))))
			}
			in := Input{Nodes: benchNodes(1000, 8), Jobs: jobs, Now: t0}
			placed := 0
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				placed = 0
				for _, jp := range Schedule(in).Jobs {
					placed += len(jp.Placements)
				}
			}
			if placed != min(tasks, 8000) {
				b.Fatalf("placed %d tasks, want %d", placed, min(tasks, 8000))
			}
			b.ReportMetric(float64(placed)*float64(b.N)/b.Elapsed().Seconds(), "placements/s")
		})
	}
}

// BenchmarkGang places one gang of 64 members × 8 GPUs on 1,000 nodes of 8
// GPUs.
func BenchmarkGang(b *testing.B) {
	in := Input{
		Nodes: benchNodes(1000, 8),
		Jobs:  requests(job("gang", 50, 0, true, group("w", 64, res(16, 128, 8)))),
		Now:   t0,
	}
	b.ReportAllocs()
	for b.Loop() {
		plan := Schedule(in)
		if len(plan.Jobs) != 1 || len(plan.Jobs[0].Placements) != 64 {
			b.Fatalf("gang not placed: %+v", plan.Pending)
		}
	}
	b.ReportMetric(64*float64(b.N)/b.Elapsed().Seconds(), "placements/s")
}

// BenchmarkScheduleNVLink is BenchmarkScheduleSingleGPU/tasks=8000 on nodes
// whose GPUs form two NVLink domains of 4, with every other job asking for
// 2 GPUs, so that every take chooses a domain.
func BenchmarkScheduleNVLink(b *testing.B) {
	nodes := benchNodes(1000, 8)
	for _, n := range nodes {
		nvlink(n, []int{0, 1, 2, 3}, []int{4, 5, 6, 7})
	}
	jobs := make([]*JobRequest, 5334)
	for i := range jobs {
		jobs[i] = request(job(fmt.Sprintf("j%05d", i), 50, i, false, group("w", 1, res(1, 8, 1+i%2))))
	}
	in := Input{Nodes: nodes, Jobs: jobs, Now: t0}
	placed := 0
	b.ReportAllocs()
	for b.Loop() {
		placed = 0
		for _, jp := range Schedule(in).Jobs {
			placed += len(jp.Placements)
		}
	}
	if placed < 5000 {
		b.Fatalf("placed %d tasks, want at least 5000", placed)
	}
	b.ReportMetric(float64(placed)*float64(b.N)/b.Elapsed().Seconds(), "placements/s")
}

// BenchmarkScheduleSingleGPU10k is BenchmarkScheduleSingleGPU on 10,000
// nodes of 8 GPUs: 80,000 single-GPU tasks fill every GPU.
func BenchmarkScheduleSingleGPU10k(b *testing.B) {
	const nodes, tasks = 10000, 80000
	jobs := make([]*JobRequest, tasks)
	for i := range jobs {
		jobs[i] = request(job(fmt.Sprintf("j%06d", i), 50, i, false, group("w", 1, res(1, 8, 1))))
	}
	in := Input{Nodes: benchNodes(nodes, 8), Jobs: jobs, Now: t0}
	placed := 0
	b.ReportAllocs()
	for b.Loop() {
		placed = 0
		for _, jp := range Schedule(in).Jobs {
			placed += len(jp.Placements)
		}
	}
	if placed != tasks {
		b.Fatalf("placed %d tasks, want %d", placed, tasks)
	}
	b.ReportMetric(float64(placed)*float64(b.N)/b.Elapsed().Seconds(), "placements/s")
}

// BenchmarkGang512 places one gang of 512 members × 8 GPUs on 5,000 nodes
// of 8 GPUs, half of them busy with one single-GPU task each, and refuses
// one of 4,096 members (more than the cluster holds).
func BenchmarkGang512(b *testing.B) {
	nodes := benchNodes(5000, 8)
	var allocs []*api.Allocation
	for i := 0; i < len(nodes); i += 2 {
		allocs = append(allocs, alloc(fmt.Sprintf("a%05d", i), "busy", nodes[i].ID, res(1, 8, 1), 0))
	}
	for _, tc := range []struct {
		name    string
		members int
		placed  bool
	}{{"placed", 512, true}, {"refused", 4096, false}} {
		b.Run(tc.name, func(b *testing.B) {
			in := Input{Nodes: nodes, Allocs: allocs, Jobs: requests(job("gang", 50, 0, true, group("w", tc.members, res(16, 128, 8)))), Now: t0}
			b.ReportAllocs()
			for b.Loop() {
				plan := Schedule(in)
				if got := len(plan.Jobs) == 1; got != tc.placed {
					b.Fatalf("placed = %v, want %v: %+v", got, tc.placed, plan.Pending)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/gang")
		})
	}
}

// passInput is a 2,000-node cluster of 8 GPUs, a quarter busy, and 100,000
// queued jobs in 10 queues of weights 1 to 10: 1, 2, 4 or 8 GPUs each,
// every fifth a gang of 2 to 4 members, every third with a walltime.
func passInput() Input {
	nodes := benchNodes(2000, 8)
	var queues []api.Queue
	for q := range 10 {
		queues = append(queues, api.Queue{Name: fmt.Sprintf("q%d", q), Weight: q + 1, Borrow: q%2 == 0})
	}
	var running []*api.Job
	var allocs []*api.Allocation
	for i := 0; i < len(nodes); i += 4 {
		j := job(fmt.Sprintf("r%05d", i), 40, -60, false, group("w", 1, res(4, 32, 4)))
		j.Queue, j.State, j.Spec.Walltime = fmt.Sprintf("q%d", i%10), api.JobRunning, api.Duration(time.Duration(1+i%7)*time.Hour)
		a := alloc("a"+j.ID, j.ID, nodes[i].ID, res(4, 32, 4), 0, 1, 2, 3)
		a.Group, a.StartTime = "w", t0.Add(-time.Duration(i%50)*time.Minute)
		running, allocs = append(running, j), append(allocs, a)
	}
	jobs := make([]*JobRequest, 100000)
	for i := range jobs {
		gpus := 1 << (i % 4)
		count, gang := 1, false
		if i%5 == 0 {
			count, gang = 2+i%3, true
		}
		j := job(fmt.Sprintf("j%06d", i), 30+i%40, i/100, gang, group("w", count, res(int64(2*gpus), int64(16*gpus), gpus)))
		j.Queue = fmt.Sprintf("q%d", i%10)
		if i%3 == 0 {
			j.Spec.Walltime = api.Duration(time.Duration(10+i%50) * time.Minute)
		}
		jobs[i] = request(j)
	}
	return Input{Nodes: nodes, Allocs: allocs, Running: running, Jobs: jobs, Queues: queues, Now: t0}
}

// BenchmarkPass100k is one full scheduling pass over 100,000 queued jobs in
// 10 queues, with fair share, quotas' checks, preemption, a reservation
// and backfill all in play.
func BenchmarkPass100k(b *testing.B) {
	in := passInput()
	var plan Plan
	b.ReportAllocs()
	for b.Loop() {
		plan = Schedule(in)
	}
	if len(plan.Jobs) == 0 || len(plan.Pending) == 0 {
		b.Fatalf("placed %d jobs, %d pending", len(plan.Jobs), len(plan.Pending))
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/pass")
}

// BenchmarkPlacementScaling measures what one placement costs (find the
// node, take it; the per-pass cluster build is left out) on clusters of
// 1,000 to 50,000 nodes of 8 GPUs, a third of them partly busy: single-GPU
// tasks, and a mix of 1, 2, 4 and 8 GPUs with matching CPU and memory.
func BenchmarkPlacementScaling(b *testing.B) {
	for _, n := range []int{1000, 10000, 50000} {
		for _, mix := range []string{"1gpu", "mixed"} {
			b.Run(fmt.Sprintf("nodes=%d/%s", n, mix), func(b *testing.B) {
				nodes := benchNodes(n, 8)
				var allocs []*api.Allocation
				for i := 0; i < n; i += 3 {
					allocs = append(allocs, alloc(fmt.Sprintf("a%05d", i), "busy", nodes[i].ID, res(2, 16, 2), 0, 1))
				}
				p := newPass(Input{Nodes: nodes, Allocs: allocs, Now: t0})
				c := p.c
				var ds []*demand
				for k := range 4 {
					gpus := 1
					if mix == "mixed" {
						gpus = 1 << k
					}
					d := c.demandFor(res(int64(2*gpus), int64(16*gpus), gpus))
					ds = append(ds, &d)
				}
				const batch = 1000
				takes := make([]taken, 0, batch)
				b.ReportAllocs()
				for b.Loop() {
					takes = takes[:0]
					for k := range batch {
						i, why := c.find(ds[k%4], false)
						if i < 0 {
							b.Fatal(why)
						}
						takes = append(takes, c.take(i, ds[k%4]))
					}
					b.StopTimer()
					for k := len(takes) - 1; k >= 0; k-- {
						c.undo(takes[k], ds[k%4])
					}
					b.StartTimer()
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/placement")
			})
		}
	}
}
