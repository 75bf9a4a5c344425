package server

import (
	"strconv"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/phalanx-sched/phalanx/api"
)

// Collector exports the cluster's state as Prometheus metrics, read from
// a state snapshot at scrape time. Labels are bounded by the cluster's
// size (nodes, GPUs, fixed states); job IDs are never labels.
func (s *Server) Collector() prometheus.Collector { return collector{s} }

var (
	descJobs = prometheus.NewDesc("phalanx_jobs", "Jobs by state.", []string{"state"}, nil)
	descNode = prometheus.NewDesc("phalanx_nodes", "Executor nodes by status.", []string{"status"}, nil)
	descGPUs = prometheus.NewDesc("phalanx_gpu_allocated",
		"1 if the GPU is held by a running or starting allocation, else 0.", []string{"node", "gpu"}, nil)
	descGPUHealth = prometheus.NewDesc("phalanx_gpu_healthy",
		"1 if the GPU is healthy, 0 if it was marked unhealthy and gets no new work.", []string{"node", "gpu"}, nil)
	descIndex  = prometheus.NewDesc("phalanx_raft_applied_index", "The last Raft index applied to this server's state.", nil, nil)
	descLeader = prometheus.NewDesc("phalanx_is_leader", "1 if this server is the Raft leader.", nil, nil)
	descPasses = prometheus.NewDesc("phalanx_scheduler_passes_total",
		"Scheduling passes this server ran as leader (each reads the cluster and places what waits).", nil, nil)
	descPassSeconds = prometheus.NewDesc("phalanx_scheduler_pass_seconds_total",
		"Time this server spent computing scheduling passes as leader (not waiting for their plans to commit).", nil, nil)
	descPlaced = prometheus.NewDesc("phalanx_scheduler_placed_total",
		"Task placements this server committed as leader.", nil, nil)
)

// passStats counts the leader's scheduling passes, for /metrics.
type passStats struct {
	passes, nanos, placed atomic.Int64
}

type collector struct{ s *Server }

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descJobs, descNode, descGPUs, descGPUHealth, descIndex, descLeader, descPasses, descPassSeconds, descPlaced} {
		ch <- d
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	snap := c.s.state.Snapshot()
	jobs := map[api.JobState]int{}
	for _, st := range []api.JobState{api.JobQueued, api.JobRunning, api.JobSucceeded, api.JobFailed, api.JobCancelled} {
		jobs[st] = 0
	}
	for _, j := range snap.Jobs() {
		jobs[j.State]++
	}
	for st, n := range jobs {
		ch <- prometheus.MustNewConstMetric(descJobs, prometheus.GaugeValue, float64(n), string(st))
	}
	nodes := map[api.NodeStatus]int{api.NodeReady: 0, api.NodeDown: 0}
	for _, n := range snap.Nodes() {
		nodes[n.Status]++
		held := map[int]bool{}
		for _, a := range snap.LiveNodeAllocs(n.ID) {
			for _, g := range a.GPUIndices {
				held[g] = true
			}
		}
		for _, g := range n.GPUs {
			idx := strconv.Itoa(g.Index)
			ch <- prometheus.MustNewConstMetric(descGPUs, prometheus.GaugeValue, b2f(held[g.Index]), n.Name, idx)
			ch <- prometheus.MustNewConstMetric(descGPUHealth, prometheus.GaugeValue, b2f(g.Healthy), n.Name, idx)
		}
	}
	for st, n := range nodes {
		ch <- prometheus.MustNewConstMetric(descNode, prometheus.GaugeValue, float64(n), string(st))
	}
	ch <- prometheus.MustNewConstMetric(descIndex, prometheus.GaugeValue, float64(snap.Index()))
	ch <- prometheus.MustNewConstMetric(descLeader, prometheus.GaugeValue, b2f(c.s.IsLeader()))
	ch <- prometheus.MustNewConstMetric(descPasses, prometheus.CounterValue, float64(c.s.stats.passes.Load()))
	ch <- prometheus.MustNewConstMetric(descPassSeconds, prometheus.CounterValue, float64(c.s.stats.nanos.Load())/1e9)
	ch <- prometheus.MustNewConstMetric(descPlaced, prometheus.CounterValue, float64(c.s.stats.placed.Load()))
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
