package sim

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Result is what `phalanx sim -o json` prints.
type Result struct {
	Jobs    []JobResult `json:"jobs"`
	Summary Summary     `json:"summary"`
}

// JobResult is one job's story. Times are virtual seconds from the start.
type JobResult struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Queue    string `json:"queue"`
	Priority int    `json:"priority"`
	// Submitted is when the job arrived; Started when it first started
	// and Finished when its last task ended, or null if it never did.
	Submitted float64  `json:"submitted_s"`
	Started   *float64 `json:"started_s"`
	Finished  *float64 `json:"finished_s"`
	// Outcome is "succeeded", "walltime" (stopped at its walltime),
	// "pending" (never ran, or did not finish).
	Outcome     string `json:"outcome"`
	Preemptions int    `json:"preemptions"`
	// Evictions are the core's evictions of the job, in order; one that
	// the job outlived (it ended within its grace period) is no
	// preemption.
	Evictions []EvictionResult `json:"evictions,omitempty"`
	// Pending is the core's last reason for a job that did not finish.
	Pending string `json:"pending_reason,omitempty"`
	// Allocations are those of the job's last start.
	Allocations []AllocResult `json:"allocations"`
}

// EvictionResult is one eviction of a job.
type EvictionResult struct {
	At        float64 `json:"at_s"`
	Preemptor string  `json:"preemptor"`
	Cause     string  `json:"cause"`
	Reason    string  `json:"reason"`
}

// AllocResult is where one member ran.
type AllocResult struct {
	Group string `json:"group"`
	Index int    `json:"index"`
	Node  string `json:"node"`
	GPUs  []int  `json:"gpus"`
}

// Summary is the whole run in figures.
type Summary struct {
	Policy string `json:"policy"`
	Jobs   int    `json:"jobs"`
	// Finished counts the jobs that ended (walltime stops included);
	// NeverRan those that never started.
	Finished int `json:"finished"`
	NeverRan int `json:"never_ran"`
	// Makespan is from the first arrival to the last end.
	Makespan float64 `json:"makespan_s"`
	// GPUUtilization is the GPU-seconds allocations held (grace periods
	// included) over the cluster's GPUs times the makespan.
	GPUUtilization float64 `json:"gpu_utilization"`
	Preemptions    int     `json:"preemptions"`
	// Passes counts the core's scheduling passes.
	Passes int                     `json:"passes"`
	Queues map[string]QueueSummary `json:"queues"`
	// Violations are the broken invariants; it is empty unless the core
	// has a bug.
	Violations []string `json:"violations"`
}

// QueueSummary is one queue's figures. A wait is from arrival to first
// start; jobs that never ran have none.
type QueueSummary struct {
	Jobs       int     `json:"jobs"`
	NeverRan   int     `json:"never_ran"`
	MeanWait   float64 `json:"mean_wait_s"`
	P95Wait    float64 `json:"p95_wait_s"`
	GPUSeconds float64 `json:"gpu_seconds"`
}

// stats are the running totals of a simulation.
type stats struct {
	gpus        int // healthy GPUs in the cluster
	gpuSeconds  float64
	preemptions int
	evictions   int
	passes      int
	queues      map[string]*queueStats
}

type queueStats struct {
	gpuSeconds float64
}

func (st *stats) queue(name string) *queueStats {
	if st.queues == nil {
		st.queues = map[string]*queueStats{}
	}
	q := st.queues[name]
	if q == nil {
		q = &queueStats{}
		st.queues[name] = q
	}
	return q
}

// seconds returns d in seconds, to the millisecond.
func seconds(d time.Duration) float64 { return round(d.Seconds(), 3) }

func round(x float64, digits int) float64 {
	p := math.Pow10(digits)
	return math.Round(x*p) / p
}

// result gathers the report at the end of the run.
func (s *sim) result() *Result {
	// Work still held when a stopped run ended counts up to now.
	for _, j := range s.running {
		for _, a := range j.live {
			gs := (s.now - a.StartTime.Sub(Epoch)).Seconds() * float64(len(a.GPUIndices))
			s.stats.gpuSeconds += gs
			s.stats.queue(j.job.Queue).gpuSeconds += gs
		}
	}
	r := &Result{Jobs: make([]JobResult, len(s.jobs))}
	sum := &r.Summary
	sum.Policy = string(s.cfg.Policy)
	sum.Jobs = len(s.jobs)
	sum.Preemptions = s.stats.preemptions
	sum.Passes = s.stats.passes
	sum.Queues = map[string]QueueSummary{}
	waits := map[string][]time.Duration{}
	first, last := time.Duration(-1), time.Duration(0)
	for i, j := range s.jobs {
		jr := JobResult{ID: j.job.ID, Name: j.job.Name, Queue: j.job.Queue, Priority: j.job.Priority,
			Submitted: seconds(j.arr.SubmitAt), Outcome: "pending", Preemptions: j.pre, Evictions: j.evictions, Allocations: []AllocResult{}}
		if first < 0 || j.arr.SubmitAt < first {
			first = j.arr.SubmitAt
		}
		qs := sum.Queues[j.job.Queue]
		qs.Jobs++
		if j.hasStarted {
			v := seconds(j.started)
			jr.Started = &v
			waits[j.job.Queue] = append(waits[j.job.Queue], j.started-j.arr.SubmitAt)
		} else {
			qs.NeverRan++
			sum.NeverRan++
		}
		if j.done {
			v := seconds(j.finished)
			jr.Finished = &v
			last = max(last, j.finished)
			sum.Finished++
			jr.Outcome = "succeeded"
			if j.overrun {
				jr.Outcome = "walltime"
			}
		} else {
			jr.Pending = j.reason
		}
		for _, a := range j.placed {
			jr.Allocations = append(jr.Allocations, AllocResult{Group: a.Group, Index: a.Index, Node: a.NodeID, GPUs: append([]int{}, a.GPUIndices...)})
		}
		sum.Queues[j.job.Queue] = qs
		r.Jobs[i] = jr
	}
	if s.stopped {
		last = s.now
	}
	if first >= 0 && last > first {
		sum.Makespan = seconds(last - first)
		if s.stats.gpus > 0 {
			sum.GPUUtilization = round(s.stats.gpuSeconds/(float64(s.stats.gpus)*(last-first).Seconds()), 4)
		}
	}
	for name, qs := range sum.Queues {
		w := waits[name]
		qs.MeanWait, qs.P95Wait = seconds(mean(w)), seconds(percentile(w, 95))
		if st := s.stats.queues[name]; st != nil {
			qs.GPUSeconds = round(st.gpuSeconds, 3)
		}
		sum.Queues[name] = qs
	}
	sum.Violations = append([]string{}, s.violations...)
	if s.dropped > 0 {
		sum.Violations = append(sum.Violations, fmt.Sprintf("... and %d more", s.dropped))
	}
	return r
}

// mean is the average of ds, or 0 for none.
func mean(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	var total float64
	for _, d := range ds {
		total += float64(d)
	}
	return time.Duration(math.Round(total / float64(len(ds))))
}

// percentile is the nearest-rank p-th percentile of ds: the smallest value
// that at least p percent of them are at or below; 0 for none.
func percentile(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	sorted := slices.Clone(ds)
	slices.Sort(sorted)
	rank := (p*len(sorted) + 99) / 100 // ceil(p/100 * n)
	return sorted[max(rank, 1)-1]
}

// WriteText writes the summary as a table a person reads.
func (r *Result) WriteText(w io.Writer) error {
	s := r.Summary
	var b strings.Builder
	fmt.Fprintf(&b, "policy %s: %d jobs, %d finished, %d never ran; makespan %s; GPU utilization %.1f%%; %d preemptions; %d scheduling passes\n\n",
		s.Policy, s.Jobs, s.Finished, s.NeverRan, fmtSeconds(s.Makespan), 100*s.GPUUtilization, s.Preemptions, s.Passes)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "QUEUE\tJOBS\tNEVER RAN\tMEAN WAIT\tP95 WAIT\tGPU-HOURS")
	names := make([]string, 0, len(s.Queues))
	for n := range s.Queues {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		q := s.Queues[n]
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%.1f\n", n, q.Jobs, q.NeverRan, fmtSeconds(q.MeanWait), fmtSeconds(q.P95Wait), q.GPUSeconds/3600)
	}
	tw.Flush()
	if len(s.Violations) == 0 {
		b.WriteString("\nviolations: none\n")
	} else {
		fmt.Fprintf(&b, "\nVIOLATIONS (bugs in the scheduling core): %d\n", len(s.Violations))
		for _, v := range s.Violations {
			fmt.Fprintf(&b, "  %s\n", v)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// fmtSeconds writes seconds as a duration, to the second.
func fmtSeconds(sec float64) string {
	return time.Duration(math.Round(sec) * float64(time.Second)).String()
}
