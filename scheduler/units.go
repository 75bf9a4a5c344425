package scheduler

import (
	"slices"
	"strings"

	"github.com/phalanx-sched/phalanx/api"
)

// unit is one live allocation as a pass sees it.
type unit struct {
	alloc *api.Allocation
	node  int      // position in cluster.nodes, or -1 for an unknown node
	job   *jobInfo // nil when its job is in neither Jobs nor Running
	res   amounts  // CPU, memory and the GPUs it holds
	slots []int    // its GPUs' positions on the node
	// stopping is set for an allocation asked to stop (DesiredStop);
	// claimed once a reservation counts on the room it frees.
	stopping, claimed bool
}

// jobInfo is what a pass knows of a job that is placed or to place.
type jobInfo struct {
	job      *api.Job
	queue    *queueState // nil for an unknown queue
	prio     int         // capped at the queue's MaxPriority
	units    []*unit     // its live allocations, by ID
	nunits   int         // how many, while collectJobs counts them
	holds    amounts     // what they hold
	work     int64       // GPU-seconds they have run
	req      *queued     // set when it is also to be placed
	stopping bool        // some allocation is stopping
	evicted  bool        // this plan evicts it
	// placedOn is where this plan placed its members, by group index.
	placedOn map[int][]int
}

// collectJobs indexes the jobs of Jobs and Running and the live
// allocations, sorted by ID so that no input order decides anything, and
// holds what each allocation holds on its node (holdUnit). Input already
// in ID order, as the leader's state store and the simulator give it, is
// checked in O(n) and not sorted again. The memory comes from p.sc.
func (p *pass) collectJobs() {
	sc := p.sc
	n := len(p.in.Running)
	for _, r := range p.in.Jobs {
		if r != nil && r.Job != nil {
			n++
		}
	}
	sc.infos = reuse(sc.infos, n)
	p.infos = sc.infos[:0] // never grows: p.jobs points into it
	sc.jobs = emptyMap(sc.jobs, n)
	p.jobs = sc.jobs
	add := func(j *api.Job) {
		if j != nil && p.jobs[j.ID] == nil {
			p.infos = append(p.infos, jobInfo{job: j, prio: j.Priority})
			p.jobs[j.ID] = &p.infos[len(p.infos)-1]
		}
	}
	for _, r := range p.in.Jobs {
		if r != nil {
			add(r.Job)
		}
	}
	for _, j := range p.in.Running {
		add(j)
	}
	sc.allocs = liveSorted(p.in.Allocs, sc.allocs)
	allocs := sc.allocs
	c := p.c
	sc.pos = emptyMap(sc.pos, len(c.nodes))
	pos := sc.pos
	for i := range c.nodes {
		pos[c.nodes[i].node.ID] = i
	}
	sc.units = reuse(sc.units, len(allocs))
	p.units = sc.units
	nslots, owned := 0, 0
	var last *jobInfo
	for k, a := range allocs {
		nslots += len(a.GPUIndices)
		u := &p.units[k]
		u.alloc = a
		if last != nil && last.job.ID == a.JobID {
			u.job = last // allocations of one job often come together
		} else {
			u.job = p.jobs[a.JobID]
		}
		if j := u.job; j != nil {
			owned++
			j.nunits++
			last = j
		}
	}
	// Each job's units, and each unit's GPU slots, are parts of one
	// slice.
	sc.unitsOf = reuse(sc.unitsOf, owned)
	of := sc.unitsOf
	for k := range p.infos {
		j := &p.infos[k]
		j.units, of = of[:0:j.nunits], of[j.nunits:]
	}
	sc.unitGPUs = reuse(sc.unitGPUs, nslots)
	slots := sc.unitGPUs[:0]
	for k, a := range allocs {
		u := &p.units[k]
		u.node = -1
		u.res = amounts{cpu: a.Task.Resources.CPUMilli, mem: a.Task.Resources.MemoryBytes, gpus: len(a.GPUIndices)}
		u.stopping = a.DesiredState == api.DesiredStop
		if i, ok := pos[a.NodeID]; ok {
			u.node = i
			s := &c.nodes[i]
			from := len(slots)
			for _, idx := range a.GPUIndices {
				if slot := s.slot(idx); slot >= 0 && !slices.Contains(slots[from:], slot) {
					slots = append(slots, slot)
				}
			}
			if len(slots) > from {
				u.slots = slots[from:len(slots):len(slots)]
			}
			c.holdUnit(u)
		}
		if j := u.job; j != nil {
			j.units = append(j.units, u)
			j.holds.add(u.res)
			j.work += gpuSeconds(a, p.in.Now)
			j.stopping = j.stopping || u.stopping
		}
	}
	// The jobs holding allocations, in the order of their first
	// allocation: already in ID order when allocation IDs start with
	// their job's ID, as the simulator's do.
	p.running = sc.running[:0]
	for k := range p.units {
		if j := p.units[k].job; j != nil && j.units[0] == &p.units[k] {
			p.running = append(p.running, j)
		}
	}
	byID := func(a, b *jobInfo) int { return strings.Compare(a.job.ID, b.job.ID) }
	if !slices.IsSortedFunc(p.running, byID) {
		slices.SortFunc(p.running, byID)
	}
	sc.running = p.running
}

// liveSorted returns the live allocations sorted by ID, the first of each
// ID kept (in the order given), in buf's memory. It sorts only if they
// are not in order already.
func liveSorted(all, buf []*api.Allocation) []*api.Allocation {
	out := reuse(buf, len(all))[:0]
	ordered := true
	for _, a := range all {
		if a == nil || !a.Live() {
			continue
		}
		if k := len(out); k > 0 && out[k-1].ID >= a.ID {
			ordered = false
		}
		out = append(out, a)
	}
	if ordered {
		return out
	}
	slices.SortStableFunc(out, func(a, b *api.Allocation) int { return strings.Compare(a.ID, b.ID) })
	return slices.CompactFunc(out, func(a, b *api.Allocation) bool { return a.ID == b.ID })
}

// collectQueues builds the queues, files every job under its own and
// counts what each queue's allocations hold.
func (p *pass) collectQueues() {
	if p.in.Queues != nil {
		for _, q := range p.in.Queues {
			if p.byName[q.Name] == nil {
				p.byName[q.Name] = &queueState{q: q, weight: uint64(q.EffectiveWeight())}
			}
		}
	} else {
		for k := range p.infos {
			name := queueName(p.infos[k].job)
			if p.byName[name] == nil {
				p.byName[name] = &queueState{q: api.Queue{Name: name, Weight: 1, Borrow: true}, weight: 1}
			}
		}
	}
	for _, q := range p.byName {
		p.queues = append(p.queues, q)
		p.totalWeight += q.weight
	}
	slices.SortFunc(p.queues, func(a, b *queueState) int { return strings.Compare(a.q.Name, b.q.Name) })
	for k := range p.infos {
		j := &p.infos[k]
		if q := p.queueNamed(queueName(j.job)); q != nil {
			j.queue = q
			j.prio = q.q.ClampPriority(j.job.Priority)
			q.used.add(j.holds)
		}
	}
}

// queueNamed returns the queue of that name, or nil. A pass has a handful
// of queues, which a scan finds faster than a map.
func (p *pass) queueNamed(name string) *queueState {
	if len(p.queues) > 8 {
		return p.byName[name]
	}
	for _, q := range p.queues {
		if q.q.Name == name {
			return q
		}
	}
	return nil
}

// release frees what u holds on its node, as if it had ended; hold
// reverses it.
func (p *pass) release(u *unit) {
	if u.node < 0 {
		return
	}
	s := &p.c.nodes[u.node]
	for _, port := range u.alloc.Ports {
		s.releasePort(port)
	}
	p.c.change(u.node, +1, amounts{cpu: u.res.cpu, mem: u.res.mem}, u.slots)
}

func (p *pass) hold(u *unit) {
	if u.node < 0 {
		return
	}
	s := &p.c.nodes[u.node]
	for _, port := range u.alloc.Ports {
		s.holdPort(port)
	}
	p.c.change(u.node, -1, amounts{cpu: u.res.cpu, mem: u.res.mem}, u.slots)
}
