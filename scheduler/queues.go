package scheduler

import (
	"cmp"
	"fmt"
	"math/bits"
	"strconv"
	"strings"

	"github.com/phalanx-sched/phalanx/api"
)

// queueState is one queue during a pass: its settings, what its jobs hold
// (live allocations plus this plan's placements) and its pending work in
// order.
type queueState struct {
	q      api.Queue
	weight uint64
	used   amounts
	reqs   []*queued // priority (clamped, high first), submit time, ID
	next   int       // the next of reqs to consider
	heapAt int
}

// share is the queue's dominant share of the cluster's capacity in units
// of 2^-32: the largest of its CPU, memory and GPU shares.
func (q *queueState) share(capacity amounts) uint64 {
	return dominant(q.used, capacity)
}

// dominant is the largest of used's CPU, memory and GPU shares of
// capacity, in units of 2^-32.
func dominant(used, capacity amounts) uint64 {
	return max(fraction(used.cpu, capacity.cpu), fraction(used.mem, capacity.mem), fraction(int64(used.gpus), int64(capacity.gpus)))
}

// ahead reports whether queue a holding aUsed comes before queue b
// holding bUsed in the order queues are served: lower weighted dominant
// share first, ties by name.
func ahead(a *queueState, aUsed amounts, b *queueState, bUsed amounts, capacity amounts) bool {
	as, bs := dominant(aUsed, capacity), dominant(bUsed, capacity)
	switch {
	case lessShare(as, a.weight, bs, b.weight):
		return true
	case lessShare(bs, b.weight, as, a.weight):
		return false
	}
	return cmp.Less(a.q.Name, b.q.Name)
}

// fraction is part/whole in units of 2^-32, clamped to [0, 2^40].
func fraction(part, whole int64) uint64 {
	if part <= 0 || whole <= 0 {
		return 0
	}
	part = min(part, whole<<8)
	hi, lo := bits.Mul64(uint64(part), 1<<32)
	v, _ := bits.Div64(hi, lo, uint64(whole))
	return v
}

// lessShare reports whether a's weighted share (share/weight) is below
// b's, exactly: a.share*b.weight < b.share*a.weight in 128 bits.
func lessShare(as, aw, bs, bw uint64) bool {
	ah, al := bits.Mul64(as, bw)
	bh, bl := bits.Mul64(bs, aw)
	return ah < bh || ah == bh && al < bl
}

// fairPart is the queue's fair share of whole: whole * weight / total
// weight, rounded down.
func fairPart(whole int64, weight, total uint64) int64 {
	if whole <= 0 || total == 0 {
		return 0
	}
	hi, lo := bits.Mul64(uint64(whole), weight)
	v, _ := bits.Div64(hi%total, lo, total)
	return int64(v)
}

// belowFair reports whether the queue holds less than its fair share of
// every resource the cluster has: it may reclaim what others borrowed.
func (p *pass) belowFair(q *queueState) bool {
	// share < 2^32 * weight / total  <=>  share * total < 2^32 * weight
	return lessShare(q.share(p.c.capacity), q.weight, 1<<32, p.totalWeight)
}

// mayReclaim reports whether the queue may reclaim room for a job that
// needs need: it is below its fair share now and stays within it, in
// every resource, once the job is placed. So a queue never goes above
// its fair share by reclaiming, and what it reclaimed cannot be
// reclaimed back from it.
func (p *pass) mayReclaim(q *queueState, need amounts) bool {
	after := q.used
	after.add(need)
	return p.belowFair(q) && !p.aboveFair(q, after)
}

// aboveFair reports whether the queue, holding used, is above its fair
// share of some resource: what it holds beyond may be reclaimed.
func (p *pass) aboveFair(q *queueState, used amounts) bool {
	c := p.c.capacity
	return used.cpu > fairPart(c.cpu, q.weight, p.totalWeight) ||
		used.mem > fairPart(c.mem, q.weight, p.totalWeight) ||
		int64(used.gpus) > fairPart(int64(c.gpus), q.weight, p.totalWeight)
}

// limit returns why the queue may not take need more right now, or "";
// never is set when it could not even with nothing running.
func (p *pass) limit(q *queueState, need amounts) (why string, never bool) {
	quota := q.q.Quota
	if quota.GPUs != nil && need.gpus > 0 {
		if why, never := quotaText(int64(q.used.gpus), int64(*quota.GPUs), int64(need.gpus), strconv.FormatInt, "GPUs"); why != "" {
			return why, never
		}
	}
	if quota.CPUMilli != nil && need.cpu > 0 {
		if why, never := quotaText(q.used.cpu, *quota.CPUMilli, need.cpu, formatCores, "CPUs"); why != "" {
			return why, never
		}
	}
	if quota.MemoryBytes != nil && need.mem > 0 {
		if why, never := quotaText(q.used.mem, *quota.MemoryBytes, need.mem, func(b int64, _ int) string { return formatBytes(b) }, "memory"); why != "" {
			return why, never
		}
	}
	if q.q.Borrow || p.fifo {
		return "", false
	}
	c := p.c.capacity
	for _, r := range []struct {
		used, need, whole int64
		unit              string
		format            func(int64, int) string
	}{
		{int64(q.used.gpus), int64(need.gpus), int64(c.gpus), "GPUs", strconv.FormatInt},
		{q.used.cpu, need.cpu, c.cpu, "CPUs", formatCores},
		{q.used.mem, need.mem, c.mem, "memory", func(b int64, _ int) string { return formatBytes(b) }},
	} {
		fair := fairPart(r.whole, q.weight, p.totalWeight)
		if r.need > 0 && r.used+r.need > fair {
			return fmt.Sprintf("queue %s may not borrow: its fair share is %s %s, it holds %s and the job needs %s",
				q.q.Name, r.format(fair, 10), r.unit, r.format(r.used, 10), r.format(r.need, 10)), r.need > fair
		}
	}
	return "", false
}

// quotaText says why used+need exceeds limit, or "".
func quotaText(used, limit, need int64, format func(int64, int) string, unit string) (string, bool) {
	if used+need <= limit {
		return "", false
	}
	if need > limit {
		return fmt.Sprintf("queue quota: the job needs %s %s, more than the quota of %s", format(need, 10), unit, format(limit, 10)), true
	}
	why := fmt.Sprintf("queue quota: %s/%s %s in use", format(used, 10), format(limit, 10), unit)
	if used < limit {
		why += ", job needs " + format(need, 10)
	}
	return why, false
}

// formatCores writes millicores as cores: 32000 -> "32", 1500 -> "1.5".
func formatCores(milli int64, _ int) string {
	s := strconv.FormatInt(milli/1000, 10)
	if f := milli % 1000; f != 0 {
		s += strings.TrimRight(fmt.Sprintf(".%03d", f), "0")
	}
	return s
}

// queueHeap orders the queues with work left by weighted dominant share,
// lowest first, then by name.
type queueHeap struct {
	qs       []*queueState
	capacity amounts
}

func (h *queueHeap) less(a, b *queueState) bool {
	return ahead(a, a.used, b, b.used, h.capacity)
}

func (h *queueHeap) push(q *queueState) {
	h.qs = append(h.qs, q)
	q.heapAt = len(h.qs) - 1
	h.up(q.heapAt)
}

func (h *queueHeap) pop() *queueState {
	n := len(h.qs) - 1
	h.swap(0, n)
	q := h.qs[n]
	h.qs = h.qs[:n]
	if n > 0 {
		h.down(0)
	}
	return q
}

func (h *queueHeap) swap(i, j int) {
	h.qs[i], h.qs[j] = h.qs[j], h.qs[i]
	h.qs[i].heapAt, h.qs[j].heapAt = i, j
}

func (h *queueHeap) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !h.less(h.qs[i], h.qs[p]) {
			return
		}
		h.swap(i, p)
		i = p
	}
}

func (h *queueHeap) down(i int) {
	for {
		l, small := 2*i+1, i
		if l < len(h.qs) && h.less(h.qs[l], h.qs[small]) {
			small = l
		}
		if r := l + 1; r < len(h.qs) && h.less(h.qs[r], h.qs[small]) {
			small = r
		}
		if small == i {
			return
		}
		h.swap(i, small)
		i = small
	}
}

// queueName is the job's queue, api.DefaultQueue when it names none.
func queueName(j *api.Job) string {
	if j.Queue == "" {
		return api.DefaultQueue
	}
	return j.Queue
}
