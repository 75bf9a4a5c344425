package executor

import (
	"context"
	"errors"
	"log"
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/phalanx-sched/phalanx/api"
	"github.com/phalanx-sched/phalanx/gpu"
)

// watchGPUs reports every GPU the driver says has failed (a critical XID)
// to the servers, which then place nothing on it until an operator
// recovers it. It returns when ctx ends or the driver cannot watch.
func (a *Agent) watchGPUs(ctx context.Context) {
	w, ok := a.cfg.GPUSource.(gpu.Watcher)
	if !ok || len(a.cfg.GPUs) == 0 {
		return
	}
	var reports sync.WaitGroup
	defer reports.Wait()
	err := w.Watch(ctx, func(ev gpu.HealthEvent) {
		log.Printf("agent: GPU %d (%s) is unhealthy: %s; reporting it", ev.Index, ev.UUID, ev.Reason)
		a.mu.Lock()
		a.sick[ev.UUID] = ev.Reason
		a.mu.Unlock()
		reports.Add(1)
		go func() {
			defer reports.Done()
			h := api.GPUHealth{UUID: ev.UUID, Healthy: false, Reason: ev.Reason}
			_ = retry(ctx, "report unhealthy GPU "+ev.UUID, func() error {
				return a.api.SetGPUHealth(ctx, a.nodeID, ev.UUID, h)
			})
		}()
	})
	switch {
	case errors.Is(err, gpu.ErrHealthNotSupported):
		log.Printf("agent: %v: failing GPUs will not be marked unhealthy by themselves", err)
	case err != nil && ctx.Err() == nil:
		log.Printf("agent: GPU health watch ended: %v", err)
	}
}

// gpuCollector exports this node's GPUs as Prometheus metrics, labelled by
// GPU index only.
type gpuCollector struct{ a *Agent }

var (
	descGPUAllocated = prometheus.NewDesc("phalanx_gpu_allocated", "1 if a task on this node holds the GPU, else 0.", []string{"gpu"}, nil)
	descGPUHealthy   = prometheus.NewDesc("phalanx_gpu_healthy", "0 once the GPU reported a critical XID, else 1.", []string{"gpu"}, nil)
	descGPUUtil      = prometheus.NewDesc("phalanx_gpu_utilization_ratio", "GPU utilization over the driver's last sample period, 0 to 1.", []string{"gpu"}, nil)
	descGPUMemUsed   = prometheus.NewDesc("phalanx_gpu_memory_used_bytes", "GPU memory in use.", []string{"gpu"}, nil)
	descGPUMemTotal  = prometheus.NewDesc("phalanx_gpu_memory_total_bytes", "GPU memory in total.", []string{"gpu"}, nil)
)

func (c gpuCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descGPUAllocated, descGPUHealthy, descGPUUtil, descGPUMemUsed, descGPUMemTotal} {
		ch <- d
	}
}

func (c gpuCollector) Collect(ch chan<- prometheus.Metric) {
	a := c.a
	a.mu.Lock()
	held := map[int]bool{}
	for _, t := range a.tasks {
		for _, g := range t.alloc.GPUIndices {
			held[g] = true
		}
	}
	sick := map[string]bool{}
	for uuid := range a.sick {
		sick[uuid] = true
	}
	a.mu.Unlock()
	for _, g := range a.cfg.GPUs {
		idx := strconv.Itoa(g.Index)
		ch <- prometheus.MustNewConstMetric(descGPUAllocated, prometheus.GaugeValue, b2f(held[g.Index]), idx)
		ch <- prometheus.MustNewConstMetric(descGPUHealthy, prometheus.GaugeValue, b2f(g.Healthy && !sick[g.UUID]), idx)
	}
	s, ok := a.cfg.GPUSource.(gpu.Sampler)
	if !ok {
		return
	}
	samples, err := s.Sample()
	if err != nil {
		ch <- prometheus.NewInvalidMetric(descGPUUtil, err)
		return
	}
	for _, sm := range samples {
		idx := strconv.Itoa(sm.Index)
		if sm.UtilizationPercent != nil {
			ch <- prometheus.MustNewConstMetric(descGPUUtil, prometheus.GaugeValue, float64(*sm.UtilizationPercent)/100, idx)
		}
		if sm.MemoryUsedBytes != nil {
			ch <- prometheus.MustNewConstMetric(descGPUMemUsed, prometheus.GaugeValue, float64(*sm.MemoryUsedBytes), idx)
		}
		if sm.MemoryTotalBytes > 0 {
			ch <- prometheus.MustNewConstMetric(descGPUMemTotal, prometheus.GaugeValue, float64(sm.MemoryTotalBytes), idx)
		}
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
