package scheduler

import (
	"path"
	"slices"
	"strings"

	"github.com/phalanx-sched/phalanx/api"
)

// cluster is the free-resource state of every node during one Schedule
// call. It is built once, in O(nodes + allocations), and then changed only
// by take, undo, release and hold as members are placed, gangs rolled
// back and evictions or reservations tried out. Every change keeps the
// node index (index.go) and the totals up to date.
type cluster struct {
	nodes []nodeState // sorted by node ID
	// models interns GPU model names; gpuSlot.model indexes it.
	models  []string
	classes []nodeClass
	ready   int // how many nodes are ready
	// notReady counts the nodes that are not ready by cause, for reasons.
	notReady []causeCount
	idx      index
	// firstFit picks the lowest node ID that fits instead of the best fit
	// and the lowest free GPU indices without topology (PolicyFIFO).
	firstFit bool
	// reserved lists the nodes that carry part of a reservation, sorted.
	reserved []int
	// capacity is what the ready nodes offer in total (healthy GPUs only);
	// free is what is free on them, ignoring reservations.
	capacity, free amounts
	// version counts changes to free resources; failures caches, per
	// version, why a demand fits nowhere. A long queue of identical work
	// that no longer fits is then explained once, not once per job.
	// Cached answers are exact: they hold for an unchanged state. never
	// caches neverFits, which does not depend on what is free.
	version  uint64
	failures map[failureKey]failure
	never    map[failureKey]string
	// Scratch space reused so that the hot paths do not allocate.
	domainFree, domainOrder []int
	cands                   []candidate
}

// amounts is CPU, memory and GPUs summed over nodes or allocations.
type amounts struct {
	cpu, mem int64
	gpus     int
}

func (a *amounts) add(b amounts) { a.cpu += b.cpu; a.mem += b.mem; a.gpus += b.gpus }
func (a *amounts) sub(b amounts) { a.cpu -= b.cpu; a.mem -= b.mem; a.gpus -= b.gpus }

// covers reports whether a has at least b of every resource.
func (a amounts) covers(b amounts) bool { return a.cpu >= b.cpu && a.mem >= b.mem && a.gpus >= b.gpus }

func amountsOf(r api.Resources) amounts {
	return amounts{cpu: r.CPUMilli, mem: r.MemoryBytes, gpus: max(r.GPUs, 0)}
}

type failureKey struct {
	res      api.Resources
	next     bool
	port     bool
	raw      bool
	selector string
}

type failure struct {
	version uint64
	reason  string
}

// nodeClass is what nodes of the same shape share: totals, GPU model and
// memory, healthy GPUs and whether they offer ports. Nodes whose GPUs are
// not all of one model and memory get a class each.
type nodeClass struct {
	cpu, mem               int64
	gpus, healthy          int
	uniform                bool
	model                  int // when uniform and gpus > 0
	gpuMem                 int64
	ports                  bool
	invCPU, invMem, invGPU inverse
}

type classKey struct {
	cpu, mem      int64
	gpus, healthy int
	model         int
	gpuMem        int64
	ports         bool
	own           int // the node's position for a mixed node, else -1
}

// nodeState is one node's free resources.
type nodeState struct {
	node  *api.Node
	ready bool
	class int32
	// domains is how many NVLink domains the node's GPUs form, or 0 when
	// no GPU has an NVLink peer on the node; see linkDomains.
	domains  int32
	freeCPU  int64
	freeMem  int64
	freeGPUs int // healthy and not held
	// resCPU, resMem and resGPUs are held for reservations: work that
	// must not delay them sees only free minus reserved. resGPUs counts
	// the reserved GPU slots that are free now.
	resCPU, resMem int64
	resGPUs        int
	gpus           []gpuSlot // sorted by GPU index
	// heldPorts are the held ports in the node's port range, sorted;
	// resPorts the ports reservations hold, sorted.
	heldPorts, resPorts []int
	bucket              *bucket // nil when not ready
	// inRes is set once part of a reservation lies on the node (it is
	// then in cluster.reserved).
	inRes bool
	// spreadMark is the spread group that holds this node, see demand.
	spreadMark uint32
}

// gpuSlot is one GPU of a node and whether something holds it.
type gpuSlot struct {
	index    int
	model    int // into cluster.models
	memory   int64
	uuid     string
	domain   int32 // NVLink domain, when nodeState.domains > 0
	healthy  bool
	held     bool
	reserved bool
}

// view is the node's free CPU, memory and GPUs as a demand sees it: with
// raw set all that is free, otherwise less what reservations hold.
func (s *nodeState) view(raw bool) (cpu, mem int64, gpus int) {
	if raw {
		return s.freeCPU, s.freeMem, s.freeGPUs
	}
	return s.freeCPU - s.resCPU, s.freeMem - s.resMem, s.freeGPUs - s.resGPUs
}

// hasRes reports whether part of a reservation lies on the node.
func (s *nodeState) hasRes() bool { return s.inRes }

// demand is what one member asks for, with its GPU filter resolved against
// the cluster's GPU models once.
type demand struct {
	res     api.Resources
	modelOK []bool // by interned model
	// port is set for a gang's rank 0, which also needs a free host port
	// (see NeedsRendezvousPort).
	port bool
	// raw is set for work that ends before every reservation begins: it
	// may use what reservations hold.
	raw bool
	// sel, when not nil, is the nodes the job's node_selector allows.
	sel *selection
	// spread, when not 0, marks the group's members as spread: a node
	// whose spreadMark equals it holds one already.
	spread uint32
}

// taken records one tentative placement so that undo can reverse it.
type taken struct {
	node  int
	slots []int // positions in nodeState.gpus
	port  int   // the host port reserved, or 0
}

// newCluster builds the state of the nodes, nil ones left out, the first
// of each ID kept, in memory from sc. Its cost is O(nodes + GPUs) with
// few allocations: the nodes' GPU slots share one slice, GPU models are
// interned by a short scan, and NVLink domains are worked out once per
// distinct topology (see domainCache). Nodes already sorted by ID, as the
// leader's state store and the simulator list them, are not sorted again.
func newCluster(nodes []*api.Node, firstFit bool, sc *scratch) *cluster {
	sc.nodes = sortedNodes(nodes, sc.nodes)
	sorted := sc.nodes
	total := 0
	for _, n := range sorted {
		total += len(n.GPUs)
	}
	sc.gpus = grow(sc.gpus, total) // every slot is assigned whole below
	slab := sc.gpus
	sc.states = reuse(sc.states, len(sorted))
	c := &cluster{
		nodes: sc.states, firstFit: firstFit,
		failures: map[failureKey]failure{}, never: map[failureKey]string{},
	}
	var models modelTable
	var domains domainCache
	classIDs := classTable{ids: map[classKey]int32{}}
	for i, n := range sorted {
		s := &c.nodes[i]
		s.node = n
		s.ready = n.Status == api.NodeReady && n.Drain == nil
		s.freeCPU = n.Resources.CPUMilli
		s.freeMem = n.Resources.MemoryBytes
		s.gpus, slab = slab[:len(n.GPUs):len(n.GPUs)], slab[len(n.GPUs):]
		for j, g := range n.GPUs {
			s.gpus[j] = gpuSlot{index: g.Index, model: models.id(c, g.Model), memory: g.MemoryBytes, healthy: g.Healthy, uuid: g.UUID}
			if g.Healthy {
				s.freeGPUs++
			}
		}
		if !slices.IsSortedFunc(s.gpus, compareSlots) {
			slices.SortStableFunc(s.gpus, compareSlots)
		}
		s.domains = domains.number(s, n.GPUs)
		s.class = c.classOf(i, &classIDs)
		if !s.ready {
			c.countNotReady(s)
		}
	}
	return c
}

func compareSlots(a, b gpuSlot) int { return a.index - b.index }

// sortedNodes returns the nodes that are not nil, sorted by ID, the first
// of each ID kept (in the order given), in buf's memory. It checks in
// O(nodes) whether they are sorted already, the common case, and sorts
// only if not.
func sortedNodes(nodes, buf []*api.Node) []*api.Node {
	out := reuse(buf, len(nodes))[:0]
	ordered := true
	for _, n := range nodes {
		if n == nil {
			continue
		}
		if k := len(out); k > 0 && out[k-1].ID >= n.ID {
			ordered = false
		}
		out = append(out, n)
	}
	if ordered {
		return out
	}
	slices.SortStableFunc(out, func(a, b *api.Node) int { return strings.Compare(a.ID, b.ID) })
	return slices.CompactFunc(out, func(a, b *api.Node) bool { return a.ID == b.ID })
}

// modelTable interns GPU model names into cluster.models. Clusters have a
// handful of models, so a scan, most recent first, beats hashing; a map
// takes over if there are many.
type modelTable struct {
	last int
	ids  map[string]int
}

const modelScan = 8

func (t *modelTable) id(c *cluster, name string) int {
	if len(c.models) > 0 && c.models[t.last] == name {
		return t.last
	}
	if t.ids != nil {
		if m, ok := t.ids[name]; ok {
			t.last = m
			return m
		}
	} else {
		for m, have := range c.models {
			if have == name {
				t.last = m
				return m
			}
		}
	}
	m := len(c.models)
	c.models = append(c.models, name)
	if len(c.models) > modelScan && t.ids == nil {
		t.ids = make(map[string]int, 2*modelScan)
		for k, have := range c.models {
			t.ids[have] = k
		}
	}
	if t.ids != nil {
		t.ids[name] = m
	}
	t.last = m
	return m
}

// classTable finds classes by key; most nodes have the class of the node
// before them, which is tried first.
type classTable struct {
	ids     map[classKey]int32
	last    classKey
	lastID  int32
	hasLast bool
}

// classOf returns node i's class, adding it if it is new.
func (c *cluster) classOf(i int, t *classTable) int32 {
	s := &c.nodes[i]
	k := classKey{cpu: s.node.Resources.CPUMilli, mem: s.node.Resources.MemoryBytes, gpus: len(s.gpus), healthy: s.freeGPUs, model: -1, ports: offersPorts(s.node.Ports), own: -1}
	uniform := true
	for j, g := range s.gpus {
		if j == 0 {
			k.model, k.gpuMem = g.model, g.memory
		} else if g.model != k.model || g.memory != k.gpuMem {
			uniform = false
		}
	}
	if !uniform {
		k.own, k.model, k.gpuMem = i, -1, 0
	}
	if t.hasLast && k == t.last {
		return t.lastID
	}
	id, ok := t.ids[k]
	if !ok {
		id = c.addClass(k, uniform)
		t.ids[k] = id
	}
	t.last, t.lastID, t.hasLast = k, id, true
	return id
}

func (c *cluster) addClass(k classKey, uniform bool) int32 {
	id := int32(len(c.classes))
	c.classes = append(c.classes, nodeClass{
		cpu: k.cpu, mem: k.mem, gpus: k.gpus, healthy: k.healthy, uniform: uniform, model: k.model, gpuMem: k.gpuMem, ports: k.ports,
		invCPU: inverseOf(k.cpu), invMem: inverseOf(k.mem), invGPU: inverseOf(int64(k.gpus)),
	})
	return id
}

func (c *cluster) countNotReady(s *nodeState) {
	why := notReadyCause(s.node)
	k := slices.IndexFunc(c.notReady, func(cc causeCount) bool { return cc.cause == why })
	if k < 0 {
		c.notReady = append(c.notReady, causeCount{cause: why})
		k = len(c.notReady) - 1
	}
	c.notReady[k].n++
}

// holdUnit counts what a live allocation holds on its node, before the
// index is built.
func (c *cluster) holdUnit(u *unit) {
	if u.node < 0 {
		return
	}
	s := &c.nodes[u.node]
	s.freeCPU -= u.res.cpu
	s.freeMem -= u.res.mem
	for _, slot := range u.slots {
		if !s.gpus[slot].held && s.gpus[slot].healthy {
			s.freeGPUs--
		}
		s.gpus[slot].held = true
	}
	for _, p := range u.alloc.Ports {
		s.holdPort(p)
	}
}

// buildIndex adds up the ready nodes' capacity and free resources and
// builds the index; it is called once, after every live allocation is
// held (holdUnit).
func (c *cluster) buildIndex() {
	c.idx.init(len(c.nodes))
	for i := range c.nodes {
		s := &c.nodes[i]
		if !s.ready {
			continue
		}
		c.ready++
		cl := &c.classes[s.class]
		c.capacity.add(amounts{cpu: cl.cpu, mem: cl.mem, gpus: cl.healthy})
		c.free.add(amounts{cpu: s.freeCPU, mem: s.freeMem, gpus: s.freeGPUs})
		c.idx.place(c, i)
	}
}

// slot returns the position of the GPU with the given index, or -1.
// Indices are usually 0..n-1, so the GPU with index i is first looked for
// at position i.
func (s *nodeState) slot(index int) int {
	if index >= 0 && index < len(s.gpus) && s.gpus[index].index == index && (index == 0 || s.gpus[index-1].index < index) {
		return index
	}
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
	return g.healthy && !g.held && (d.raw || !g.reserved) && d.modelOK[g.model] && g.memory >= d.res.GPUMemoryBytes
}

// allows reports whether d may go to node i at all: its selector matches
// and, for a spread group, no other member is there.
func (d *demand) allows(s *nodeState, i int) bool {
	return (d.sel == nil || d.sel.match[i]) && (d.spread == 0 || s.spreadMark != d.spread)
}

// fits reports whether d fits on node i now.
func (c *cluster) fits(i int, d *demand) bool {
	s := &c.nodes[i]
	if !s.ready || !d.allows(s, i) {
		return false
	}
	cpu, mem, gpus := s.view(d.raw)
	if cpu < d.res.CPUMilli || mem < d.res.MemoryBytes || gpus < d.res.GPUs {
		return false
	}
	if d.port && s.freePort(d.raw) == 0 {
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
	s := &c.nodes[i]
	t := taken{node: i}
	if d.res.GPUs > 0 {
		t.slots = c.pickGPUs(s, d)
	}
	if d.port {
		t.port = s.freePort(d.raw)
		s.holdPort(t.port)
	}
	if d.spread != 0 {
		s.spreadMark = d.spread
	}
	c.change(i, -1, amounts{cpu: d.res.CPUMilli, mem: d.res.MemoryBytes}, t.slots)
	return t
}

// undo reverses a take of d.
func (c *cluster) undo(t taken, d *demand) {
	s := &c.nodes[t.node]
	if t.port != 0 {
		s.releasePort(t.port)
	}
	if d.spread != 0 {
		s.spreadMark = 0
	}
	c.change(t.node, +1, amounts{cpu: d.res.CPUMilli, mem: d.res.MemoryBytes}, t.slots)
}

// change frees (sign +1) or holds (sign -1) CPU, memory and the GPU slots
// on node i, keeping the totals and the index in step.
func (c *cluster) change(i, sign int, r amounts, slots []int) {
	c.version++
	s := &c.nodes[i]
	before := amounts{cpu: s.freeCPU, mem: s.freeMem, gpus: s.freeGPUs}
	s.freeCPU += int64(sign) * r.cpu
	s.freeMem += int64(sign) * r.mem
	for _, k := range slots {
		g := &s.gpus[k]
		if g.held != (sign < 0) && g.healthy {
			s.freeGPUs += sign
			if g.reserved {
				s.resGPUs += sign
			}
		}
		g.held = sign < 0
	}
	if s.ready {
		c.free.sub(before)
		c.free.add(amounts{cpu: s.freeCPU, mem: s.freeMem, gpus: s.freeGPUs})
		c.idx.move(c, i)
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
