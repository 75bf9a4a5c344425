package api

// DefaultQueue is the queue of a job that names none.
const DefaultQueue = "default"

// Queue is a named share of the cluster that jobs are submitted to
// (Job.Queue). The scheduler orders queues by weighted dominant-resource
// fair share, caps each by its quota and its jobs' priorities by
// MaxPriority, and lets a queue below its fair share reclaim what others
// borrowed. docs/scheduling.md explains the rules.
type Queue struct {
	// Name is a DNS label, unique among queues.
	Name string `json:"name"`
	// Weight is the queue's share of the cluster relative to the other
	// queues: a queue of weight 2 is entitled to twice what a queue of
	// weight 1 is. 0 counts as 1.
	Weight int `json:"weight"`
	// Quota caps what the queue's jobs may hold at once, whatever is
	// idle.
	Quota Quota `json:"quota,omitzero"`
	// Borrow lets the queue's jobs use idle capacity beyond the queue's
	// fair share (Weight / the sum of all queues' weights, of every
	// resource of the ready nodes). Borrowed capacity can be reclaimed:
	// a queue below its fair share may preempt jobs of a queue above
	// its own for a job that keeps it within its fair share
	// (docs/scheduling.md has the exact rule). Without Borrow the queue
	// never holds more than its fair share.
	Borrow bool `json:"borrow"`
	// MaxPriority, when set, is the highest priority a job of the queue
	// may have. The API refuses a higher one at submit; the scheduler
	// treats a job above it as if it had MaxPriority. nil: no cap.
	MaxPriority *int `json:"max_priority,omitempty"`

	CreateIndex uint64 `json:"create_index"`
	ModifyIndex uint64 `json:"modify_index"`
}

// Quota caps the sum of what a queue's live allocations hold. Each limit
// is independent; nil means no limit on that resource, and 0 means none
// of it may be used (a CPU-only queue sets GPUs to 0).
type Quota struct {
	CPUMilli    *int64 `json:"cpu_milli,omitempty"`
	MemoryBytes *int64 `json:"memory_bytes,omitempty"`
	GPUs        *int   `json:"gpus,omitempty"`
}

// IsZero reports whether q limits nothing.
func (q Quota) IsZero() bool {
	return q.CPUMilli == nil && q.MemoryBytes == nil && q.GPUs == nil
}

// EffectiveWeight is q.Weight, or 1 when that is not positive.
func (q *Queue) EffectiveWeight() int {
	if q.Weight <= 0 {
		return 1
	}
	return q.Weight
}

// ClampPriority returns p capped at the queue's MaxPriority.
func (q *Queue) ClampPriority(p int) int {
	if q.MaxPriority != nil && p > *q.MaxPriority {
		return *q.MaxPriority
	}
	return p
}

// QueueStatus is a queue as `phalanx queue list` shows it: its settings
// and what its jobs hold and wait for now.
type QueueStatus struct {
	Queue
	// Running and Queued count the queue's jobs in those states.
	Running int `json:"running"`
	Queued  int `json:"queued"`
	// Used is what the queue's live allocations hold.
	Used Resources `json:"used"`
}
