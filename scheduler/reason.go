package scheduler

import (
	"fmt"
	"slices"
	"strings"

	"github.com/phalanx-sched/phalanx/api"
)

// Causes for a node not fitting a member, in the order they are checked:
// what can never change on a node first, then what placements use up.
const (
	causeTooFewGPUs    = "too few GPUs"
	causeModel         = "gpu_model mismatch"
	causeGPUMemory     = "gpu_memory too small"
	causeUnhealthy     = "unhealthy GPUs"
	causeNoPorts       = "no host ports"
	causeSpread        = "already hold a member of the spread group"
	causeCPU           = "not enough CPU"
	causeMemory        = "not enough memory"
	causeTooFewFree    = "too few free GPUs"
	causeNoFreePort    = "no free host port"
	causeReserved      = "held for a reservation"
	causeNotReadyOther = "not ready"
)

// explain says why d fits on no node right now. With next set, the
// wording refers to the next member of a job that placed some already.
func (c *cluster) explain(d *demand, next bool) string {
	total, ready, noun := len(c.nodes), c.ready, "nodes"
	if d.sel != nil {
		if len(d.sel.nodes) == 0 {
			return "node_selector " + d.sel.text + " matches no node"
		}
		total, ready, noun = len(d.sel.nodes), 0, "nodes matching node_selector "+d.sel.text
		for _, i := range d.sel.nodes {
			if c.nodes[i].ready {
				ready++
			}
		}
	}
	if ready == 0 {
		// Say why none is ready: "no ready nodes: 2 down, 1 draining".
		counts, _ := c.causeCounts(d)
		if d.sel != nil {
			return "no ready " + noun + joinCounts(counts)
		}
		return "no ready nodes" + joinCounts(counts)
	}
	if why := c.neverFitsCached(d); why != "" {
		return why
	}
	counts, misfits := c.causeCounts(d)
	var b strings.Builder
	fmt.Fprintf(&b, "%d/%d %s fit", total-misfits, total, noun)
	if next {
		b.WriteString(" the next")
	}
	b.WriteString(joinCounts(counts))
	return b.String()
}

// causeCounts counts the nodes d does not fit on by their first cause,
// most common first. Nodes of a uniform class in one bucket share their
// cause, so it costs O(buckets) for most demands.
func (c *cluster) causeCounts(d *demand) ([]causeCount, int) {
	var counts []causeCount
	misfits := 0
	add := func(why string, n int) {
		if why == "" || n == 0 {
			return
		}
		misfits += n
		k := slices.IndexFunc(counts, func(cc causeCount) bool { return cc.cause == why })
		if k < 0 {
			k = len(counts)
			counts = append(counts, causeCount{cause: why})
		}
		counts[k].n += n
	}
	switch {
	case d.sel != nil:
		for _, i := range d.sel.nodes {
			add(c.cause(i, d), 1)
		}
	default:
		for _, cc := range c.notReady {
			add(cc.cause, cc.n)
		}
		shared := !d.port && d.spread == 0 && (!d.raw || len(c.reserved) == 0)
		for _, b := range c.idx.list {
			if shared && c.classes[b.key.class].uniform {
				add(c.cause(b.nodes.at(0), d), b.nodes.len())
				continue
			}
			for _, i := range b.nodes.all() {
				add(c.cause(int(i), d), 1)
			}
		}
	}
	slices.SortFunc(counts, func(a, b causeCount) int {
		if a.n != b.n {
			return b.n - a.n
		}
		return strings.Compare(a.cause, b.cause)
	})
	return counts, misfits
}

// joinCounts is ": 2 down, 1 draining", or "" for no counts.
func joinCounts(counts []causeCount) string {
	var b strings.Builder
	for i, cc := range counts {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%d %s", cc.n, cc.cause)
	}
	return b.String()
}

type causeCount struct {
	cause string
	n     int
}

// notReadyCause says why a node that is not ready takes no work.
func notReadyCause(n *api.Node) string {
	switch {
	case n.Status == api.NodeReady && n.Drain != nil:
		return "draining"
	case n.Status == "":
		return causeNotReadyOther
	}
	return string(n.Status)
}

// cause returns the first reason d does not fit on node i now, or "".
func (c *cluster) cause(i int, d *demand) string {
	s := &c.nodes[i]
	if !s.ready {
		return notReadyCause(s.node)
	}
	need := d.res.GPUs
	var model, memory, healthy, free int
	if need > 0 {
		model, memory, healthy, free = s.countGPUs(d)
	}
	switch {
	case len(s.gpus) < need:
		return causeTooFewGPUs
	case model < need:
		return causeModel
	case memory < need:
		return causeGPUMemory
	case healthy < need:
		return causeUnhealthy
	case d.port && !offersPorts(s.node.Ports):
		return causeNoPorts
	case d.spread != 0 && s.spreadMark == d.spread:
		return causeSpread
	case s.freeCPU < d.res.CPUMilli:
		return causeCPU
	case s.freeMem < d.res.MemoryBytes:
		return causeMemory
	case free < need:
		return causeTooFewFree
	case d.port && s.freePort(d.raw) == 0:
		return causeNoFreePort
	case !c.fits(i, d):
		return causeReserved
	}
	return ""
}

// countGPUs counts the node's GPUs that match d's model, of those the ones
// with enough memory, of those the healthy ones, and of those the free ones.
func (s *nodeState) countGPUs(d *demand) (model, memory, healthy, free int) {
	for k := range s.gpus {
		g := &s.gpus[k]
		if !d.modelOK[g.model] {
			continue
		}
		model++
		if g.memory < d.res.GPUMemoryBytes {
			continue
		}
		memory++
		if !g.healthy {
			continue
		}
		healthy++
		if !g.held {
			free++
		}
	}
	return model, memory, healthy, free
}

// neverFitsCached is neverFits, computed once per demand shape.
func (c *cluster) neverFitsCached(d *demand) string {
	key := failureKey{res: d.res, port: d.port}
	if d.sel != nil {
		key.selector = d.sel.text
	}
	why, ok := c.never[key]
	if !ok {
		why = c.neverFits(d)
		c.never[key] = why
	}
	return why
}

// neverFits returns why d could not fit on any node (that its selector
// allows) even if every node were empty, ready and healthy, or "" if some
// node could hold it.
func (c *cluster) neverFits(d *demand) string {
	var cpu, mem, gpus, eligible, portless bool
	for i := range c.nodes {
		if d.sel != nil && !d.sel.match[i] {
			continue
		}
		s := &c.nodes[i]
		r := s.node.Resources
		okCPU, okMem := r.CPUMilli >= d.res.CPUMilli, r.MemoryBytes >= d.res.MemoryBytes
		okGPUs := len(s.gpus) >= d.res.GPUs
		n := 0
		for k := range s.gpus {
			if d.modelOK[s.gpus[k].model] && s.gpus[k].memory >= d.res.GPUMemoryBytes {
				n++
			}
		}
		okEligible := n >= d.res.GPUs
		if okCPU && okMem && okGPUs && okEligible {
			if !d.port || offersPorts(s.node.Ports) {
				return ""
			}
			portless = true // would fit, but offers no host port
		}
		cpu, mem, gpus, eligible = cpu || okCPU, mem || okMem, gpus || okGPUs, eligible || okEligible
	}
	where := ""
	if d.sel != nil {
		where = " matching node_selector " + d.sel.text
	}
	if portless {
		return "no node" + where + " with " + formatResources(d) + " offers host ports (needed for the gang's rendezvous port)"
	}
	switch {
	case !cpu:
		return "no node" + where + " has " + formatCPU(d.res.CPUMilli) + " in total"
	case !mem:
		return "no node" + where + " has " + formatBytes(d.res.MemoryBytes) + " memory in total"
	case !gpus:
		return "no node" + where + " has " + formatGPUs(d.res.GPUs) + " in total"
	case !eligible:
		return "no node" + where + " has " + formatGPUs(d.res.GPUs) + gpuFilter(d) + " in total"
	}
	return "no node" + where + " has " + formatResources(d) + " in total"
}

func gpuFilter(d *demand) string {
	var parts []string
	if d.res.GPUModel != "" {
		parts = append(parts, fmt.Sprintf("gpu_model %q", d.res.GPUModel))
	}
	if d.res.GPUMemoryBytes > 0 {
		parts = append(parts, "gpu_memory >= "+formatBytes(d.res.GPUMemoryBytes))
	}
	if len(parts) == 0 {
		return ""
	}
	return " with " + strings.Join(parts, " and ")
}

func formatResources(d *demand) string {
	parts := []string{formatCPU(d.res.CPUMilli), formatBytes(d.res.MemoryBytes) + " memory"}
	if d.res.GPUs > 0 {
		parts = append(parts, formatGPUs(d.res.GPUs)+gpuFilter(d))
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}

func formatCPU(milli int64) string {
	switch {
	case milli == 1000:
		return "1 CPU"
	case milli%1000 == 0:
		return fmt.Sprintf("%d CPUs", milli/1000)
	}
	return fmt.Sprintf("%dm CPU", milli)
}

func formatGPUs(n int) string {
	if n == 1 {
		return "1 GPU"
	}
	return fmt.Sprintf("%d GPUs", n)
}

func formatBytes(b int64) string {
	for _, u := range []struct {
		suffix string
		size   int64
	}{{"Ti", 1 << 40}, {"Gi", 1 << 30}, {"Mi", 1 << 20}, {"Ki", 1 << 10}} {
		if b != 0 && b%u.size == 0 {
			return fmt.Sprintf("%d%s", b/u.size, u.suffix)
		}
	}
	return fmt.Sprintf("%d bytes", b)
}
