package scheduler

import (
	"fmt"
	"testing"

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
