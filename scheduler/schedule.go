package scheduler

import (
	"cmp"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/phalanx-sched/phalanx/api"
)

// Schedule places as much of in.Jobs as fits on in.Nodes, given the
// resources in.Allocs already hold, evicts running work where the rules
// allow it, and says why the rest waits. docs/scheduling.md states the
// rules for users; in brief, with PolicyFair:
//
//   - Queues are taken by weighted dominant-resource fair share of what
//     their jobs hold (lowest first, ties by name), jobs within a queue by
//     priority capped at the queue's MaxPriority (highest first), then
//     SubmitTime (oldest first), then ID. Only queued and running jobs are
//     considered; a job whose queue is unknown waits.
//   - A job waits while its queue's quota, or (without Borrow) its fair
//     share, would be exceeded.
//   - Each member goes to the ready node, allowed by the job's
//     node_selector and not holding another member of a spread group,
//     that fits it best (see score), and holds free matching GPUs of that
//     node: the lowest indices, inside one NVLink domain when the node
//     reports NVLink peers (see pickGPUs). A gang job is placed whole or
//     not at all; a non-gang job places the members that fit. Rank 0 of a
//     gang of more than one member also holds its node's lowest free host
//     port (Placement.Ports), the gang's rendezvous port.
//   - A job that does not fit waits for stopping allocations that would
//     make room, else preempts (see preempt), else, if it is the first such
//     job, gets a reservation (see reserveAhead). Work after it is placed
//     only if it cannot delay any reservation.
//
// PolicyFIFO is described at its constant. Schedule is deterministic and
// does not modify in.
func Schedule(in Input) Plan {
	p := newPass(in)
	p.run()
	scratchPool.Put(p.sc)
	return p.plan
}

// Bounds on the costly work for jobs that do not fit, per pass, so that a
// pass over a long queue stays fast. Later jobs keep their plain reason.
const (
	maxBlockedTries = 32 // jobs that may try waiting, preempting or reserving
	maxTrials       = 48 // trial placements per job trying those
	maxVictims      = 512
)

// queued is one job to place in this pass.
type queued struct {
	job     *api.Job
	info    *jobInfo
	members []Member
	prio    int // priority capped at the queue's MaxPriority
	queue   *queueState
}

// pass is the state of one Schedule call.
type pass struct {
	in          Input
	sc          *scratch // memory for the per-pass state, see scratch.go
	fifo        bool
	gap         int
	c           *cluster
	units       []unit
	jobs        map[string]*jobInfo
	infos       []jobInfo  // every job of jobs, in input order
	running     []*jobInfo // jobs holding live allocations, by ID
	queues      []*queueState
	byName      map[string]*queueState
	totalWeight uint64
	sels        map[string]*selection
	spreadSeq   uint32
	unknown     []*queued // jobs of unknown queues
	plan        Plan
	// firstRes is the earliest reservation's time; hasRes is set once
	// there is one. walltimeRes is set once the first job that does not
	// fit got its reservation.
	firstRes    time.Time
	hasRes      bool
	walltimeRes bool
	tries       int
	blocker     string // PolicyFIFO: the first job that did not fit
}

func newPass(in Input) *pass {
	p := &pass{in: in, sc: scratchPool.Get().(*scratch), fifo: in.Policy == PolicyFIFO, gap: in.PreemptionGap, byName: map[string]*queueState{}, sels: map[string]*selection{}}
	if p.gap == 0 {
		p.gap = DefaultPreemptionGap
	}
	p.c = newCluster(in.Nodes, p.fifo, p.sc)
	p.collectJobs()
	p.collectQueues()
	p.c.buildIndex()
	return p
}

func (p *pass) run() {
	reqs := p.requests()
	if p.fifo {
		slices.SortFunc(reqs, func(a, b *queued) int {
			if c := a.job.SubmitTime.Compare(b.job.SubmitTime); c != 0 {
				return c
			}
			return strings.Compare(a.job.ID, b.job.ID)
		})
		for _, r := range reqs {
			p.consider(r)
		}
	} else {
		h := &queueHeap{capacity: p.c.capacity}
		for _, q := range p.queues {
			if len(q.reqs) > 0 {
				h.push(q)
			}
		}
		for len(h.qs) > 0 {
			q := h.pop()
			r := q.reqs[q.next]
			q.next++
			p.consider(r)
			if q.next < len(q.reqs) {
				h.push(q)
			}
		}
	}
	for _, r := range p.unknown {
		p.pend(r, fmt.Sprintf("unknown queue %s", queueName(r.job)))
	}
}

// requests returns the jobs to consider and files each under its queue
// in queue order.
func (p *pass) requests() []*queued {
	var out []*queued
	for _, jr := range p.in.Jobs {
		if jr == nil || jr.Job == nil || len(jr.Members) == 0 {
			continue
		}
		j := jr.Job
		if j.State != api.JobQueued && j.State != api.JobRunning {
			continue
		}
		info := p.jobs[j.ID]
		if info.req != nil {
			continue // a duplicate ID: the first one counts
		}
		r := &queued{job: j, info: info, members: sortedMembers(jr.Members), prio: j.Priority, queue: info.queue}
		info.req = r
		if r.queue == nil {
			p.unknown = append(p.unknown, r)
			continue
		}
		r.prio = r.queue.q.ClampPriority(j.Priority)
		r.queue.reqs = append(r.queue.reqs, r)
		out = append(out, r)
	}
	for _, q := range p.queues {
		slices.SortFunc(q.reqs, func(a, b *queued) int {
			if c := cmp.Compare(b.prio, a.prio); c != 0 {
				return c
			}
			if c := a.job.SubmitTime.Compare(b.job.SubmitTime); c != 0 {
				return c
			}
			return strings.Compare(a.job.ID, b.job.ID)
		})
	}
	slices.SortFunc(p.unknown, func(a, b *queued) int { return strings.Compare(a.job.ID, b.job.ID) })
	return out
}

func (p *pass) pend(r *queued, why string) {
	p.plan.Pending = append(p.plan.Pending, Pending{JobID: r.job.ID, Reason: why})
}

// consider places one job, or says why it waits and tries to make room.
func (p *pass) consider(r *queued) {
	job := r.job
	if why := validate(job, r.members); why != "" {
		p.pend(r, why)
		return
	}
	if p.blocker != "" {
		p.pend(r, fmt.Sprintf("waiting behind job %s (fifo)", p.blocker))
		return
	}
	members := r.members
	limited := ""
	if job.Spec.Gang {
		// A job that waits for its queue blocks nothing, not even with
		// PolicyFIFO: capacity is not what it waits for.
		if why, _ := p.limit(r.queue, p.need(job, members)); why != "" {
			p.pend(r, why)
			return
		}
	} else {
		n := 0
		for n < len(members) {
			if why, _ := p.limit(r.queue, p.need(job, members[:n+1])); why != "" {
				limited = why
				break
			}
			n++
		}
		members = members[:n]
		if n == 0 {
			p.pend(r, limited)
			return
		}
	}
	raw := p.hasRes && job.Spec.Walltime > 0 && !p.in.Now.Add(job.Spec.Walltime.D()).After(p.firstRes)
	att := p.attempt(r, members, job.Spec.Gang, raw)
	if len(att.takes) > 0 {
		placed := make([]Placement, len(att.takes))
		for i, t := range att.takes {
			gi := att.members[i].GroupIndex
			if r.info.placedOn == nil {
				r.info.placedOn = map[int][]int{}
			}
			r.info.placedOn[gi] = append(r.info.placedOn[gi], t.node)
			placed[i] = p.c.placement(att.members[i], t)
			r.queue.used.add(amountsOf(job.Spec.Groups[att.members[i].GroupIndex].Task.Resources))
		}
		p.plan.Jobs = append(p.plan.Jobs, JobPlacement{JobID: job.ID, Placements: placed})
	}
	switch {
	case att.why == "" && limited == "":
		return
	case att.why == "":
		p.pend(r, fmt.Sprintf("%d of %d members placed; %s", len(att.takes), len(r.members), limited))
		return
	}
	why := att.why
	if !job.Spec.Gang && len(att.takes) > 0 {
		why = fmt.Sprintf("%d of %d members placed; %s", len(att.takes), len(r.members), why)
	}
	if !att.never {
		if p.fifo {
			p.blocker = job.ID
		} else if p.tries < maxBlockedTries {
			p.tries++
			if made := p.makeRoom(r, att.left); made != "" {
				why = made + "; " + why
			}
		}
	}
	p.pend(r, why)
}

// need is what the members ask for in total.
func (p *pass) need(job *api.Job, members []Member) amounts {
	var a amounts
	for _, m := range members {
		a.add(amountsOf(job.Spec.Groups[m.GroupIndex].Task.Resources))
	}
	return a
}

// attempt is the outcome of placing some members of a job.
type attempt struct {
	members []Member  // the members placed, in order
	demands []*demand // their demands, for undo
	takes   []taken   // their placements
	left    []Member  // the members not placed
	why     string    // why some are left, or ""
	never   bool      // they could not fit even on an idle cluster
}

// undo reverses every take of the attempt.
func (a *attempt) undo(c *cluster) {
	for i := len(a.takes) - 1; i >= 0; i-- {
		c.undo(a.takes[i], a.demands[i])
	}
}

// attempt places the members: all or none with gang set, else those that
// fit. raw lets them use what reservations hold. A gang of several groups
// that does not fit in member order is tried once more with its hardest
// members first (see hardestFirst): greedy placement in group order can
// fill a node with small members that a bigger or spread one needed.
func (p *pass) attempt(r *queued, members []Member, gang, raw bool) attempt {
	a := p.attemptInOrder(r, members, gang, raw)
	if !gang || len(a.takes) > 0 || a.never {
		return a
	}
	alt := hardestFirst(r.job, members)
	if slices.Equal(alt, members) {
		return a
	}
	b := p.attemptInOrder(r, alt, gang, raw)
	if len(b.takes) == 0 {
		return a // the reason of the plain order
	}
	// Report the placements in member order, as the plain order would.
	at := make([]int, len(b.members))
	for k := range at {
		at[k] = k
	}
	slices.SortFunc(at, func(x, y int) int { return compareMembers(b.members[x], b.members[y]) })
	sorted := attempt{}
	for _, k := range at {
		sorted.members = append(sorted.members, b.members[k])
		sorted.demands = append(sorted.demands, b.demands[k])
		sorted.takes = append(sorted.takes, b.takes[k])
	}
	return sorted
}

// hardestFirst orders a gang's members for the second try: spread groups
// first (each member needs a node of its own), then groups needing more
// GPUs, memory and CPU per member, then group and index order.
func hardestFirst(job *api.Job, members []Member) []Member {
	out := slices.Clone(members)
	slices.SortStableFunc(out, func(a, b Member) int {
		ga, gb := &job.Spec.Groups[a.GroupIndex], &job.Spec.Groups[b.GroupIndex]
		if ga.Spread != gb.Spread {
			if ga.Spread {
				return -1
			}
			return 1
		}
		ra, rb := ga.Task.Resources, gb.Task.Resources
		if c := cmp.Compare(rb.GPUs, ra.GPUs); c != 0 {
			return c
		}
		if c := cmp.Compare(rb.MemoryBytes, ra.MemoryBytes); c != 0 {
			return c
		}
		if c := cmp.Compare(rb.CPUMilli, ra.CPUMilli); c != 0 {
			return c
		}
		return compareMembers(a, b)
	})
	return out
}

// compareMembers orders members by group position, then index.
func compareMembers(a, b Member) int {
	if c := cmp.Compare(a.GroupIndex, b.GroupIndex); c != 0 {
		return c
	}
	return cmp.Compare(a.Index, b.Index)
}

// attemptInOrder is attempt with the members placed in the order given.
func (p *pass) attemptInOrder(r *queued, members []Member, gang, raw bool) attempt {
	job := r.job
	c := p.c
	sel := c.selectionFor(job.Spec.NodeSelector, p.sels)
	demands := make([]*demand, len(job.Spec.Groups))
	var rank0 *demand // the group's demand plus a rendezvous port
	demandOf := func(m Member) *demand {
		if demands[m.GroupIndex] == nil {
			d := c.demandFor(job.Spec.Groups[m.GroupIndex].Task.Resources)
			d.raw, d.sel = raw, sel
			if g := &job.Spec.Groups[m.GroupIndex]; g.Spread {
				// A fresh mark, set on the nodes that members placed
				// earlier already hold.
				p.spreadSeq++
				d.spread = p.spreadSeq
				for _, u := range r.info.units {
					if u.alloc.Group == g.Name && u.node >= 0 {
						c.nodes[u.node].spreadMark = d.spread
					}
				}
				for _, n := range r.info.placedOn[m.GroupIndex] {
					c.nodes[n].spreadMark = d.spread
				}
			}
			demands[m.GroupIndex] = &d
		}
		if !NeedsRendezvousPort(job, m) {
			return demands[m.GroupIndex]
		}
		if rank0 == nil {
			d := *demands[m.GroupIndex]
			d.port = true
			rank0 = &d
		}
		return rank0
	}
	var a attempt
	failed := make([]bool, len(job.Spec.Groups))
	for _, m := range members {
		if failed[m.GroupIndex] {
			a.left = append(a.left, m)
			continue
		}
		d := demandOf(m)
		n, why := c.find(d, len(a.takes) > 0 && gang)
		if n >= 0 {
			a.members = append(a.members, m)
			a.demands = append(a.demands, d)
			a.takes = append(a.takes, c.take(n, d))
			continue
		}
		if a.why == "" {
			a.why = why
			a.never = why == c.neverFitsCached(d) || d.sel != nil && len(d.sel.nodes) == 0
		}
		if gang {
			placed := len(a.takes)
			a.undo(c)
			a.members, a.demands, a.takes = nil, nil, nil
			a.left = members
			switch placed {
			case 0:
				a.why = fmt.Sprintf("gang of %d: %s", len(members), why)
			case 1:
				a.why = fmt.Sprintf("gang of %d: only 1 member fits; %s", len(members), why)
			default:
				a.why = fmt.Sprintf("gang of %d: only %d members fit; %s", len(members), placed, why)
			}
			return a
		}
		// Placing only uses resources up, so once a group's member does
		// not fit, none of that group's later members will.
		failed[m.GroupIndex] = true
		a.left = append(a.left, m)
	}
	return a
}

// sortedMembers returns the members in group, then index order, without
// duplicates, so that the caller's order cannot change the plan.
func sortedMembers(ms []Member) []Member {
	out := slices.Clone(ms)
	slices.SortFunc(out, func(a, b Member) int {
		if c := cmp.Compare(a.GroupIndex, b.GroupIndex); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Index, b.Index); c != 0 {
			return c
		}
		return strings.Compare(a.Group, b.Group)
	})
	return slices.Compact(out)
}

// validate returns why the members cannot be placed whatever the cluster
// looks like, or "". Such a request is a bug in the caller or an invalid
// spec; the job stays pending with the reason.
func validate(job *api.Job, members []Member) string {
	for _, m := range members {
		if m.GroupIndex < 0 || m.GroupIndex >= len(job.Spec.Groups) {
			return fmt.Sprintf("invalid member %s[%d]: job has no group at position %d", m.Group, m.Index, m.GroupIndex)
		}
		g := &job.Spec.Groups[m.GroupIndex]
		if g.Name != m.Group {
			return fmt.Sprintf("invalid member %s[%d]: group at position %d is %q", m.Group, m.Index, m.GroupIndex, g.Name)
		}
		if m.Index < 0 || m.Index >= g.Count {
			return fmt.Sprintf("invalid member %s[%d]: group has %d tasks", m.Group, m.Index, g.Count)
		}
		if err := validateResources(g.Task.Resources); err != nil {
			return fmt.Sprintf("group %s: %v", g.Name, err)
		}
	}
	return ""
}

// validateResources reports resources no node can ever serve because they
// are malformed.
func validateResources(r api.Resources) error {
	switch {
	case r.CPUMilli < 0:
		return fmt.Errorf("cpu must be >= 0, got %dm", r.CPUMilli)
	case r.MemoryBytes < 0:
		return fmt.Errorf("memory must be >= 0, got %d", r.MemoryBytes)
	case r.GPUs < 0:
		return fmt.Errorf("gpus must be >= 0, got %d", r.GPUs)
	case r.GPUMemoryBytes < 0:
		return fmt.Errorf("gpu_memory must be >= 0, got %d", r.GPUMemoryBytes)
	}
	if _, err := path.Match(r.GPUModel, ""); err != nil {
		return fmt.Errorf("gpu_model %q: %w", r.GPUModel, err)
	}
	return nil
}
