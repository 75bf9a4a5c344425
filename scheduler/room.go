package scheduler

import (
	"cmp"
	"fmt"
	"github.com/phalanx-sched/phalanx/api"
	"slices"
	"strings"
	"time"
)

// footprint is where a trial placed a job: per node, the CPU and memory
// its members take and the GPU slots they hold.
type footprint []footNode

type footNode struct {
	node     int
	cpu, mem int64
	slots    []int
	port     int // the rendezvous port, or 0
}

// makeRoom runs for a job whose members left do not fit now. In order it
// tries: waiting for stopping allocations that would make room, preempting
// (see preempt), and, for the first such job, a reservation ahead (see
// reserveAhead). It returns what the job now waits for, or "".
func (p *pass) makeRoom(r *queued, left []Member) string {
	if why := p.waitForStopping(r, left); why != "" {
		return why
	}
	if why := p.preempt(r, left); why != "" {
		return why
	}
	if !p.walltimeRes {
		return p.reserveAhead(r, left)
	}
	return ""
}

// trial places the members as a gang, respecting reservations, and takes
// them back; it returns where they went, or nil if they do not fit.
func (p *pass) trial(r *queued, members []Member) footprint {
	a := p.attempt(r, members, true, false)
	if len(a.takes) == 0 {
		return nil
	}
	var fp footprint
	for i, t := range a.takes {
		d := a.demands[i]
		k := slices.IndexFunc(fp, func(f footNode) bool { return f.node == t.node })
		if k < 0 {
			fp = append(fp, footNode{node: t.node})
			k = len(fp) - 1
		}
		fp[k].cpu += d.res.CPUMilli
		fp[k].mem += d.res.MemoryBytes
		fp[k].slots = append(fp[k].slots, t.slots...)
		if t.port != 0 {
			fp[k].port = t.port
		}
	}
	a.undo(p.c)
	slices.SortFunc(fp, func(a, b footNode) int { return a.node - b.node })
	return fp
}

// reserve holds the footprint for job r from time at on: work that does
// not end before every reservation begins sees the footprint's GPUs and
// rendezvous port as taken, and on each node of the footprint as much CPU and memory as the
// job needs beyond what the released units free there. The released
// units on the footprint's nodes are claimed, so that no other
// reservation counts on them too.
func (p *pass) reserve(r *queued, at time.Time, fp footprint, released []*unit) {
	c := p.c
	ids := make([]string, len(fp))
	for k, f := range fp {
		s := &c.nodes[f.node]
		ids[k] = s.node.ID
		var freed amounts
		for _, u := range released {
			if u.node == f.node {
				freed.add(u.res)
				u.claimed = true
			}
		}
		s.resCPU += max(0, f.cpu-freed.cpu)
		s.resMem += max(0, f.mem-freed.mem)
		if f.port != 0 {
			s.reservePort(f.port)
		}
		for _, slot := range f.slots {
			g := &s.gpus[slot]
			g.reserved = true
			if !g.held && g.healthy {
				s.resGPUs++
			}
		}
		if !s.inRes {
			s.inRes = true
			at, _ := slices.BinarySearch(c.reserved, f.node)
			c.reserved = slices.Insert(c.reserved, at, f.node)
		}
		c.version++
		if s.ready {
			c.idx.move(c, f.node)
		}
	}
	p.plan.Reservations = append(p.plan.Reservations, Reservation{JobID: r.job.ID, Time: at, NodeIDs: ids})
	if !p.hasRes || at.Before(p.firstRes) {
		p.firstRes = at
	}
	p.hasRes = true
}

// waitForStopping reserves room for the job if it fits once the stopping
// allocations no reservation counts on yet are gone.
func (p *pass) waitForStopping(r *queued, left []Member) string {
	var stopping []*unit
	for k := range p.units {
		if u := &p.units[k]; u.stopping && !u.claimed && u.node >= 0 {
			stopping = append(stopping, u)
		}
	}
	if len(stopping) == 0 {
		return ""
	}
	for _, u := range stopping {
		p.release(u)
	}
	fp := p.trial(r, left)
	for _, u := range stopping {
		p.hold(u)
	}
	if fp == nil {
		return ""
	}
	p.reserve(r, p.in.Now, fp, stopping)
	n := 0
	for _, u := range stopping {
		if u.claimed {
			n++
		}
	}
	return fmt.Sprintf("waiting for %d stopping %s to end", n, plural(n, "allocation", "allocations"))
}

// reserveAhead gives the job a reservation at the earliest time the
// running allocations' walltimes (StartTime + the job's walltime; a
// stopping one ends now) free enough room for it, if there is one.
// Allocations of jobs without a walltime are assumed never to end.
func (p *pass) reserveAhead(r *queued, left []Member) string {
	now := p.in.Now
	type event struct {
		at time.Time
		u  *unit
	}
	var events []event
	for k := range p.units {
		u := &p.units[k]
		if u.claimed || u.node < 0 || u.job != nil && u.job.evicted {
			continue
		}
		at := now
		if !u.stopping {
			end, ok := allocEnd(u.alloc, jobOf(u), now)
			if !ok {
				continue
			}
			at = later(end, now)
		}
		events = append(events, event{at, u})
	}
	if len(events) == 0 {
		return ""
	}
	slices.SortFunc(events, func(a, b event) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return strings.Compare(a.u.alloc.ID, b.u.alloc.ID)
	})
	// ends[k] is how many events have happened once the k-th distinct
	// time is reached.
	var ends []int
	for k := range events {
		if k+1 == len(events) || !events[k+1].at.Equal(events[k].at) {
			ends = append(ends, k+1)
		}
	}
	released := 0
	setPrefix := func(n int) {
		for ; released < n; released++ {
			p.release(events[released].u)
		}
		for ; released > n; released-- {
			p.hold(events[released-1].u)
		}
	}
	defer setPrefix(0)
	need := p.need(r.job, left)
	first := slices.IndexFunc(ends, func(n int) bool { setPrefix(n); return p.c.free.covers(need) })
	if first < 0 {
		return ""
	}
	trials := 0
	fitsAt := func(k int) bool {
		trials++
		setPrefix(ends[k])
		return p.trial(r, left) != nil
	}
	lo, hi := first-1, -1
	for k, step := first, 1; trials < maxTrials; step *= 2 {
		if fitsAt(k) {
			hi = k
			break
		}
		if lo = k; k == len(ends)-1 {
			break
		}
		k = min(k+step, len(ends)-1)
	}
	if hi < 0 {
		return ""
	}
	for hi-lo > 1 && trials < maxTrials {
		if mid := (lo + hi) / 2; fitsAt(mid) {
			hi = mid
		} else {
			lo = mid
		}
	}
	setPrefix(ends[hi])
	fp := p.trial(r, left)
	units := make([]*unit, ends[hi])
	for k := range units {
		units[k] = events[k].u
	}
	setPrefix(0)
	at := events[ends[hi]-1].at
	p.reserve(r, at, fp, units)
	p.walltimeRes = true
	return "waiting for reservation at " + at.UTC().Format(time.RFC3339)
}

func jobOf(u *unit) *api.Job {
	if u.job == nil {
		return nil
	}
	return u.job.job
}

func later(a, b time.Time) time.Time {
	if a.Before(b) {
		return b
	}
	return a
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// victim is a running job chosen for eviction.
type victim struct {
	j     *jobInfo
	cause EvictionCause
}

// preempt looks for running jobs whose eviction lets the job fit: jobs
// of its own queue at least the preemption gap lower in priority, and
// jobs of other queues it may reclaim from (see reclaimable). It takes
// them in order of the work they would lose (GPU-seconds run), then
// lowest priority, newest, ID; adds them until the job fits (never
// evicting if it would not); drops those not needed after all; and
// evicts the rest whole. Jobs that are to be placed themselves, stopping
// or evicted already are never victims.
func (p *pass) preempt(r *queued, left []Member) string {
	q := r.queue
	need := p.need(r.job, left)
	below := p.mayReclaim(q, need)
	var cands []victim
	for _, v := range p.running {
		if v.evicted || v.req != nil || v.stopping || v.queue == nil || v == r.info || slices.ContainsFunc(v.units, func(u *unit) bool { return u.claimed }) {
			continue
		}
		switch {
		case v.queue == q:
			if p.gap > 0 && r.prio >= v.prio+p.gap {
				cands = append(cands, victim{v, EvictPreempt})
			}
		case below && p.aboveFair(v.queue, v.queue.used):
			cands = append(cands, victim{v, EvictReclaim})
		}
	}
	if len(cands) == 0 {
		return ""
	}
	slices.SortFunc(cands, func(a, b victim) int {
		if c := cmp.Compare(a.j.work, b.j.work); c != 0 {
			return c
		}
		if c := cmp.Compare(a.j.prio, b.j.prio); c != 0 {
			return c
		}
		if c := b.j.job.SubmitTime.Compare(a.j.job.SubmitTime); c != 0 {
			return c
		}
		return strings.Compare(a.j.job.ID, b.j.job.ID)
	})
	// Stopping allocations free their room anyway: count on them first.
	var stopping []*unit
	for k := range p.units {
		if u := &p.units[k]; u.stopping && !u.claimed && u.node >= 0 {
			stopping = append(stopping, u)
			p.release(u)
		}
	}
	releaseJob := func(v *jobInfo) {
		for _, u := range v.units {
			p.release(u)
		}
	}
	holdJob := func(v *jobInfo) {
		for _, u := range v.units {
			p.hold(u)
		}
	}
	used := map[*queueState]amounts{}
	var chosen []victim
	var fp footprint
	trials := 0
	for _, v := range cands {
		if len(chosen) == maxVictims || trials == maxTrials {
			break
		}
		if v.cause == EvictReclaim {
			u, ok := used[v.j.queue]
			if !ok {
				u = v.j.queue.used
			}
			left := u
			left.sub(v.j.holds)
			if !p.reclaimable(q, v.j.queue, u, left) {
				continue
			}
			used[v.j.queue] = left
		}
		releaseJob(v.j)
		chosen = append(chosen, v)
		if !p.c.free.covers(need) {
			continue
		}
		trials++
		if fp = p.trial(r, left); fp != nil {
			break
		}
	}
	if fp != nil {
		// Keep only the victims the job needs, trying to spare the ones
		// that would lose the most work first.
		for k := len(chosen) - 1; k >= 0 && len(chosen) > 1 && trials < maxTrials; k-- {
			holdJob(chosen[k].j)
			trials++
			if f := p.trial(r, left); f != nil {
				fp = f
				chosen = slices.Delete(chosen, k, k+1)
				continue
			}
			releaseJob(chosen[k].j)
		}
	}
	for _, v := range chosen {
		holdJob(v.j)
	}
	for _, u := range stopping {
		p.hold(u)
	}
	if fp == nil {
		return ""
	}
	freed := slices.Clone(stopping)
	ids := make([]string, len(chosen))
	for k, v := range chosen {
		v.j.evicted = true
		ids[k] = v.j.job.ID
		freed = append(freed, v.j.units...)
		p.plan.Evictions = append(p.plan.Evictions, p.eviction(r, v))
	}
	p.reserve(r, p.in.Now, fp, freed)
	for _, v := range chosen {
		for _, u := range v.j.units {
			u.claimed = true
		}
	}
	return fmt.Sprintf("preempting %d %s (%s); starts when %s", len(chosen), plural(len(chosen), "job", "jobs"), strings.Join(ids, ", "), plural(len(chosen), "it stops", "they stop"))
}

// reclaimable reports whether queue q may take one more job from queue
// v, which holds before now and left once that job and the others
// chosen from it are gone: v must be above its fair share before this
// eviction, and q, as it is now, must come before v holding left in
// queue order (a lower weighted dominant share, or an equal one and a
// lower name). With mayReclaim this cannot oscillate: q stays within its
// fair share once its job runs, so v can never reclaim from q in turn,
// and the next pass serves q before v, so the victim cannot take the
// room back before the preemptor is placed.
func (p *pass) reclaimable(q *queueState, v *queueState, before, left amounts) bool {
	return p.aboveFair(v, before) && ahead(q, q.used, v, left, p.c.capacity)
}

func (p *pass) eviction(r *queued, v victim) Eviction {
	e := Eviction{JobID: v.j.job.ID, Preemptor: r.job.ID, Cause: v.cause, GPUSeconds: v.j.work}
	for _, u := range v.j.units {
		e.AllocIDs = append(e.AllocIDs, u.alloc.ID)
	}
	if v.cause == EvictPreempt {
		e.Reason = fmt.Sprintf("preempted by job %s (priority %d > %d in queue %s)", r.job.ID, r.prio, v.j.prio, r.queue.q.Name)
	} else {
		e.Reason = fmt.Sprintf("reclaimed by queue %s for job %s: queue %s holds more than its fair share", r.queue.q.Name, r.job.ID, v.j.queue.q.Name)
	}
	return e
}
