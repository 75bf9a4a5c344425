package scheduler

import (
	"path"
	"slices"
	"strings"

	"github.com/phalanx-sched/phalanx/api"
)

// cluster is the free-resource state of every node during one Schedule
// call. It is built once, in O(nodes + allocations), and then changed only
// by take and undo as members are placed and gangs rolled back.
type cluster struct {
	nodes []nodeState // sorted by node ID
	// models interns GPU model names; gpuSlot.model indexes it.
	models []string
	ready  int // how many nodes are ready
	// version counts changes to free resources (take and undo); failures
	// caches, per version, why a demand fits nowhere. A long queue of
	// identical work that no longer fits is then explained once, not once
	// per job. Cached answers are exact: they hold for an unchanged state.
	version  uint64
	failures map[failureKey]failure
	// domainFree and domainOrder are scratch space for bestDomain, reused
	// so that choosing GPUs does not allocate.
	domainFree, domainOrder []int
}

type failureKey struct {
	res  api.Resources
	next bool
	port bool
}

type failure struct {
	version uint64
	reason  string
}

// nodeState is one node's free resources.
type nodeState struct {
	node  *api.Node
	ready bool
	// domains is how many NVLink domains the node's GPUs form, or 0 when
	// no GPU has an NVLink peer on the node; see linkDomains.
	domains  int32
	freeCPU  int64
	freeMem  int64
	freeGPUs int       // healthy and not held
	gpus     []gpuSlot // sorted by GPU index
	// heldPorts are the held ports in the node's port range, sorted.
	heldPorts []int
	// Totals, for scoring shares; see inverse.
	invCPU, invMem, invGPU inverse
}

// gpuSlot is one GPU of a node and whether something holds it.
type gpuSlot struct {
	index   int
	model   int // into cluster.models
	memory  int64
	uuid    string
	domain  int32 // NVLink domain, when nodeState.domains > 0
	healthy bool
	held    bool
}

// demand is what one member asks for, with its GPU filter resolved against
// the cluster's GPU models once.
type demand struct {
	res     api.Resources
	modelOK []bool // by interned model
	// port is set for a gang's rank 0, which also needs a free host port
	// (see NeedsRendezvousPort).
	port bool
}

// taken records one tentative placement so that undo can reverse it.
type taken struct {
	node  int
	slots []int // positions in nodeState.gpus
	port  int   // the host port reserved, or 0
}

func newCluster(nodes []*api.Node, allocs []*api.Allocation) *cluster {
	sorted := make([]*api.Node, 0, len(nodes))
	for _, n := range nodes {
		if n != nil {
			sorted = append(sorted, n)
		}
	}
	slices.SortStableFunc(sorted, func(a, b *api.Node) int { return strings.Compare(a.ID, b.ID) })
	sorted = slices.CompactFunc(sorted, func(a, b *api.Node) bool { return a.ID == b.ID })

	c := &cluster{nodes: make([]nodeState, len(sorted)), failures: map[failureKey]failure{}}
	modelIDs := map[string]int{}
	byID := make(map[string]int, len(sorted))
	for i, n := range sorted {
		byID[n.ID] = i
		s := &c.nodes[i]
		s.node = n
		s.ready = n.Status == api.NodeReady && n.Drain == nil
		if s.ready {
			c.ready++
		}
		s.freeCPU = n.Resources.CPUMilli
		s.freeMem = n.Resources.MemoryBytes
		s.invCPU = inverseOf(n.Resources.CPUMilli)
		s.invMem = inverseOf(n.Resources.MemoryBytes)
		s.invGPU = inverseOf(int64(len(n.GPUs)))
		s.gpus = make([]gpuSlot, len(n.GPUs))
		for j, g := range n.GPUs {
			m, ok := modelIDs[g.Model]
			if !ok {
				m = len(c.models)
				modelIDs[g.Model] = m
				c.models = append(c.models, g.Model)
			}
			s.gpus[j] = gpuSlot{index: g.Index, model: m, memory: g.MemoryBytes, healthy: g.Healthy, uuid: g.UUID}
		}
		slices.SortStableFunc(s.gpus, func(a, b gpuSlot) int { return a.index - b.index })
		s.domains = s.linkDomains(n.GPUs)
	}
	for _, a := range allocs {
		if a == nil || !a.Live() {
			continue
		}
		i, ok := byID[a.NodeID]
		if !ok {
			continue
		}
		s := &c.nodes[i]
		s.freeCPU -= a.Task.Resources.CPUMilli
		s.freeMem -= a.Task.Resources.MemoryBytes
		for _, idx := range a.GPUIndices {
			if k := s.slot(idx); k >= 0 {
				s.gpus[k].held = true
			}
		}
		for _, p := range a.Ports {
			s.holdPort(p)
		}
	}
	for i := range c.nodes {
		s := &c.nodes[i]
		for _, g := range s.gpus {
			if g.healthy && !g.held {
				s.freeGPUs++
			}
		}
	}
	return c
}

// slot returns the position of the GPU with the given index, or -1.
func (s *nodeState) slot(index int) int {
	k, ok := slices.BinarySearchFunc(s.gpus, index, func(g gpuSlot, i int) int { return g.index - i })
	if !ok {
		return -1
	}
	return k
}

// demandFor resolves r's GPU model glob against the cluster's models.
// The glob must be valid (see validateResources).
func (c *cluster) demandFor(r api.Resources) demand {
	d := demand{res: r, modelOK: make([]bool, len(c.models))}
	for i, m := range c.models {
		d.modelOK[i] = modelMatches(r.GPUModel, m)
	}
	return d
}

// modelMatches reports whether a GPU model matches the glob; an empty glob
// matches every model.
func modelMatches(glob, model string) bool {
	if glob == "" {
		return true
	}
	ok, _ := path.Match(glob, model)
	return ok
}

// usable reports whether a free GPU can serve d.
func (d *demand) usable(g *gpuSlot) bool {
	return g.healthy && !g.held && d.modelOK[g.model] && g.memory >= d.res.GPUMemoryBytes
}

// fits reports whether d fits on node i now.
func (c *cluster) fits(i int, d *demand) bool {
	s := &c.nodes[i]
	if !s.ready || s.freeCPU < d.res.CPUMilli || s.freeMem < d.res.MemoryBytes || s.freeGPUs < d.res.GPUs {
		return false
	}
	if d.port && s.freePort() == 0 {
		return false
	}
	if d.res.GPUs <= 0 {
		return true
	}
	n := 0
	for k := range s.gpus {
		if d.usable(&s.gpus[k]) {
			if n++; n == d.res.GPUs {
				return true
			}
		}
	}
	return false
}

// take places d on node i, holding the GPUs pickGPUs chooses and, if d
// needs one, the node's lowest free port. The caller has checked fits.
func (c *cluster) take(i int, d *demand) taken {
	c.version++
	s := &c.nodes[i]
	s.freeCPU -= d.res.CPUMilli
	s.freeMem -= d.res.MemoryBytes
	t := taken{node: i}
	if d.res.GPUs > 0 {
		t.slots = c.pickGPUs(s, d)
		for _, k := range t.slots {
			s.gpus[k].held = true
		}
		s.freeGPUs -= len(t.slots)
	}
	if d.port {
		t.port = s.freePort()
		s.holdPort(t.port)
	}
	return t
}

// undo reverses a take of d.
func (c *cluster) undo(t taken, d *demand) {
	c.version++
	s := &c.nodes[t.node]
	s.freeCPU += d.res.CPUMilli
	s.freeMem += d.res.MemoryBytes
	for _, k := range t.slots {
		s.gpus[k].held = false
	}
	s.freeGPUs += len(t.slots)
	if t.port != 0 {
		s.releasePort(t.port)
	}
}

// placement describes a take as the plan reports it.
func (c *cluster) placement(m Member, t taken) Placement {
	s := &c.nodes[t.node]
	p := Placement{Member: m, NodeID: s.node.ID}
	if len(t.slots) > 0 {
		p.GPUIndices = make([]int, len(t.slots))
		p.GPUs = make([]string, len(t.slots))
		for j, k := range t.slots {
			p.GPUIndices[j] = s.gpus[k].index
			p.GPUs[j] = s.gpus[k].uuid
		}
	}
	if t.port != 0 {
		p.Ports = []int{t.port}
	}
	return p
}
