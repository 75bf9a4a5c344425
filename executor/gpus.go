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
				err := a.api.SetGPUHealth(ctx, a.nodeID, ev.UUID, h)
				if errors.Is(err, api.ErrNotFound) {
					// The servers do not know this GPU (or node yet): the
					// registration, which carries the mark, settles it.
					log.Printf("agent: report unhealthy GPU %s: %v", ev.UUID, err)
					return nil
				}
				return err
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
// node name and GPU index, as the servers' metrics are. Health is the
// servers' to export (phalanx_gpu_healthy): they know when an operator
// recovered a GPU.
type gpuCollector struct{ a *Agent }

var (
	descGPUAllocated = prometheus.NewDesc("phalanx_gpu_allocated", "1 if a task on this node holds the GPU, else 0.", []string{"node", "gpu"}, nil)
	descGPUUtil      = prometheus.NewDesc("phalanx_gpu_utilization_ratio", "GPU utilization over the driver's last sample period, 0 to 1.", []string{"node", "gpu"}, nil)
	descGPUMemUsed   = prometheus.NewDesc("phalanx_gpu_memory_used_bytes", "GPU memory in use.", []string{"node", "gpu"}, nil)
	descGPUMemTotal  = prometheus.NewDesc("phalanx_gpu_memory_total_bytes", "GPU memory in total.", []string{"node", "gpu"}, nil)
)

func (c gpuCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descGPUAllocated, descGPUUtil, descGPUMemUsed, descGPUMemTotal} {
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
	a.mu.Unlock()
	node := a.cfg.NodeName
	for _, g := range a.cfg.GPUs {
		v := 0.0
		if held[g.Index] {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(descGPUAllocated, prometheus.GaugeValue, v, node, strconv.Itoa(g.Index))
	}
	s, ok := a.cfg.GPUSource.(gpu.Sampler)
	if !ok {
		return
	}
	// A GPU that fell off the bus fails its sample: say so in the log and
	// leave its figures out, rather than fail the whole scrape.
	samples, err := s.Sample()
	if err != nil {
		log.Printf("agent: sample GPUs: %v", err)
		return
	}
	for _, sm := range samples {
		idx := strconv.Itoa(sm.Index)
		if sm.UtilizationPercent != nil {
			ch <- prometheus.MustNewConstMetric(descGPUUtil, prometheus.GaugeValue, float64(*sm.UtilizationPercent)/100, node, idx)
		}
		if sm.MemoryUsedBytes != nil {
			ch <- prometheus.MustNewConstMetric(descGPUMemUsed, prometheus.GaugeValue, float64(*sm.MemoryUsedBytes), node, idx)
		}
		if sm.MemoryTotalBytes > 0 {
			ch <- prometheus.MustNewConstMetric(descGPUMemTotal, prometheus.GaugeValue, float64(sm.MemoryTotalBytes), node, idx)
		}
	}
}
