package sim

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/phalanx-sched/phalanx/scheduler"
)

// tj is a job of a test workload.
type tj struct {
	name, at, dur string
	gpus, count   int
	gang          bool
	wall, kill    string
	prio          int
}

// testWorkload writes jobs as a workload file and parses it, so that the
// tests run what a user's file makes.
func testWorkload(t *testing.T, jobs ...tj) *Workload {
	t.Helper()
	var b strings.Builder
	b.WriteString("jobs:\n")
	for _, j := range jobs {
		fmt.Fprintf(&b, "  - submit_at: %s\n    duration: %s\n    job:\n      apiVersion: phalanx/v1\n      kind: Job\n", j.at, j.dur)
		fmt.Fprintf(&b, "      metadata: {name: %s}\n      spec:\n        gang: %v\n", j.name, j.gang)
		if j.wall != "" {
			fmt.Fprintf(&b, "        walltime: %s\n", j.wall)
		}
		if j.prio != 0 {
			fmt.Fprintf(&b, "        priority: %d\n", j.prio)
		}
		kill := j.kill
		if kill == "" {
			kill = "10s"
		}
		fmt.Fprintf(&b, "        groups:\n          - name: g\n            count: %d\n            task: {image: x, kill_timeout: %s, resources: {cpu: 1, memory: 1Gi, gpus: %d}}\n",
			max(j.count, 1), kill, j.gpus)
	}
	w, err := ParseWorkload("w.yaml", []byte(b.String()))
	if err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	return w
}

// testCluster is n nodes of gpus GPUs, 16 CPUs and 64Gi each.
func testCluster(t *testing.T, n, gpus int) *Cluster {
	t.Helper()
	c, err := ParseCluster("c.yaml", fmt.Appendf(nil, "nodes:\n  - {name_prefix: n, count: %d, cpu: 16, memory: 64Gi, gpus: {count: %d}}\n", n, gpus))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// timeline renders each job as "name start-finish" in seconds, "-" for
// never.
func timeline(r *Result) []string {
	var out []string
	for _, j := range r.Jobs {
		at := func(p *float64) string {
			if p == nil {
				return "-"
			}
			return fmt.Sprint(*p)
		}
		out = append(out, fmt.Sprintf("%s %s-%s %s", j.Name, at(j.Started), at(j.Finished), j.Outcome))
	}
	return out
}

func TestEngine(t *testing.T) {
	for _, tc := range []struct {
		name     string
		nodes    int
		gpus     int
		interval time.Duration
		jobs     []tj
		want     []string
	}{
		{"one GPU, jobs in submit order", 1, 1, time.Second, []tj{
			{name: "a", at: "0s", dur: "10m", gpus: 1},
			{name: "b", at: "1m", dur: "5m", gpus: 1},
			{name: "c", at: "1m", dur: "5m", gpus: 1},
		}, []string{"a 0-600 succeeded", "b 600-900 succeeded", "c 900-1200 succeeded"}},
		{"a finish frees room at the same instant a job arrives", 1, 1, time.Second, []tj{
			{name: "a", at: "0s", dur: "1m", gpus: 1},
			{name: "b", at: "1m", dur: "1m", gpus: 1},
		}, []string{"a 0-60 succeeded", "b 60-120 succeeded"}},
		{"walltime stops a job that runs longer", 1, 1, time.Second, []tj{
			{name: "long", at: "0s", dur: "1h", wall: "30m", gpus: 1},
			{name: "next", at: "0s", dur: "1m", gpus: 1},
		}, []string{"long 0-1800 walltime", "next 1800-1860 succeeded"}},
		{"a job that can never fit never starts", 1, 2, time.Second, []tj{
			{name: "huge", at: "0s", dur: "1m", gpus: 4},
			{name: "fits", at: "0s", dur: "1m", gpus: 2},
		}, []string{"huge --- pending", "fits 0-60 succeeded"}},
		{"a gang starts whole on several nodes", 2, 1, time.Second, []tj{
			{name: "one", at: "0s", dur: "1m", gpus: 1},
			{name: "gang", at: "1s", dur: "1m", gpus: 1, count: 2, gang: true},
		}, []string{"one 0-60 succeeded", "gang 60-120 succeeded"}},
		{"a non-gang job starts the members that fit", 1, 1, time.Second, []tj{
			{name: "each", at: "0s", dur: "1m", gpus: 1, count: 2},
		}, []string{"each 0-120 succeeded"}},
		{"passes wait for the interval", 1, 1, time.Minute, []tj{
			{name: "a", at: "0s", dur: "10s", gpus: 1},
			{name: "b", at: "5s", dur: "10s", gpus: 1},
		}, []string{"a 0-10 succeeded", "b 60-70 succeeded"}},
		{"interval 0: a pass at every change", 1, 1, 0, []tj{
			{name: "a", at: "0s", dur: "10s", gpus: 1},
			{name: "b", at: "5s", dur: "10s", gpus: 1},
		}, []string{"a 0-10 succeeded", "b 10-20 succeeded"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Interval = tc.interval
			r, err := Run(testCluster(t, tc.nodes, tc.gpus), testWorkload(t, tc.jobs...), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, timeline(r)); diff != "" {
				t.Errorf("timeline (-want +got):\n%s", diff)
			}
			if len(r.Summary.Violations) > 0 {
				t.Errorf("violations: %v", r.Summary.Violations)
			}
		})
	}
}

func TestNeverRanIsNullInJSON(t *testing.T) {
	r, err := Run(testCluster(t, 1, 1), testWorkload(t, tj{name: "huge", at: "30s", dur: "1m", gpus: 2}), DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(r.Jobs[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"submitted_s":30`, `"started_s":null`, `"finished_s":null`, `"allocations":[]`, `"pending_reason":"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("%s does not contain %s", b, want)
		}
	}
	q := r.Summary.Queues["default"]
	if q.NeverRan != 1 || q.MeanWait != 0 || r.Summary.NeverRan != 1 || r.Summary.Makespan != 0 {
		t.Errorf("summary %+v", r.Summary)
	}
}

func TestUtilization(t *testing.T) {
	// 2 GPUs for 1200s: 1 GPU for the first 600s, then 2: 1800 of 2400
	// GPU-seconds.
	r, err := Run(testCluster(t, 1, 2), testWorkload(t,
		tj{name: "one", at: "0s", dur: "10m", gpus: 1},
		tj{name: "two", at: "10m", dur: "10m", gpus: 2},
	), DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	s := r.Summary
	if s.Makespan != 1200 || s.GPUUtilization != 0.75 || s.Queues["default"].GPUSeconds != 1800 {
		t.Errorf("makespan %v, utilization %v, GPU-seconds %v; want 1200, 0.75, 1800", s.Makespan, s.GPUUtilization, s.Queues["default"].GPUSeconds)
	}
	// The makespan runs from the first arrival, not from 0.
	r, _ = Run(testCluster(t, 1, 2), testWorkload(t, tj{name: "late", at: "1h", dur: "10m", gpus: 2}), DefaultConfig())
	if r.Summary.Makespan != 600 || r.Summary.GPUUtilization != 1 {
		t.Errorf("late job: makespan %v, utilization %v; want 600, 1", r.Summary.Makespan, r.Summary.GPUUtilization)
	}
}

func TestWaitStatistics(t *testing.T) {
	for _, tc := range []struct {
		in        []int // seconds
		mean, p95 time.Duration
	}{
		{nil, 0, 0},
		{[]int{5}, 5 * time.Second, 5 * time.Second},
		{[]int{1, 2}, 1500 * time.Millisecond, 2 * time.Second},
		{seq(20), 10500 * time.Millisecond, 19 * time.Second},
		{seq(100), 50500 * time.Millisecond, 95 * time.Second},
		{seq(101), 51 * time.Second, 96 * time.Second},
	} {
		ds := make([]time.Duration, len(tc.in))
		for i, s := range tc.in {
			ds[len(ds)-1-i] = time.Duration(s) * time.Second // unsorted on purpose
		}
		if got := mean(ds); got != tc.mean {
			t.Errorf("mean of %d values = %v, want %v", len(ds), got, tc.mean)
		}
		if got := percentile(ds, 95); got != tc.p95 {
			t.Errorf("p95 of %d values = %v, want %v", len(ds), got, tc.p95)
		}
	}
}

// seq is 1..n.
func seq(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i + 1
	}
	return out
}

func TestPassesCoalesce(t *testing.T) {
	jobs := []tj{
		{name: "a", at: "100ms", dur: "1h", gpus: 1},
		{name: "b", at: "500ms", dur: "1h", gpus: 1},
		{name: "c", at: "900ms", dur: "1h", gpus: 1},
	}
	for _, tc := range []struct {
		interval time.Duration
		passes   int
	}{{time.Second, 2}, {0, 3}} {
		cfg := DefaultConfig()
		cfg.Interval = tc.interval
		r, _ := Run(testCluster(t, 1, 4), testWorkload(t, jobs...), cfg)
		if r.Summary.Passes != tc.passes {
			t.Errorf("interval %v: %d passes, want %d", tc.interval, r.Summary.Passes, tc.passes)
		}
	}
}

// evictOnce is a core that, the first time job victimID runs while
// another job waits, evicts it; otherwise it is the real core.
func evictOnce(victimID string) func(scheduler.Input) scheduler.Plan {
	done := false
	return func(in scheduler.Input) scheduler.Plan {
		if !done && len(in.Jobs) > 0 {
			var ids []string
			for _, a := range in.Allocs {
				if a.JobID == victimID {
					ids = append(ids, a.ID)
				}
			}
			if len(ids) > 0 {
				done = true
				return scheduler.Plan{Evictions: []scheduler.Eviction{{JobID: victimID, AllocIDs: ids, Preemptor: in.Jobs[0].Job.ID, Cause: scheduler.EvictPreempt, Reason: "test"}}}
			}
		}
		return scheduler.Schedule(in)
	}
}

func TestEvictionGraceAndRequeue(t *testing.T) {
	// low runs from 0; urgent arrives at 60s and the core evicts low. low
	// stops after its 30s kill_timeout, urgent starts then, and low goes
	// back to its queue with its own submit time and restarts when
	// urgent is done.
	w := testWorkload(t,
		tj{name: "low", at: "0s", dur: "10m", gpus: 2, count: 2, gang: true, kill: "30s"},
		tj{name: "urgent", at: "1m", dur: "5m", gpus: 2, prio: 90},
	)
	r := run(testCluster(t, 2, 2), w, DefaultConfig(), evictOnce(w.Jobs[0].ID))
	want := []string{"low 0-990 succeeded", "urgent 90-390 succeeded"}
	if diff := cmp.Diff(want, timeline(r)); diff != "" {
		t.Errorf("timeline (-want +got):\n%s", diff)
	}
	low := r.Jobs[0]
	if low.Preemptions != 1 || r.Summary.Preemptions != 1 || low.Submitted != 0 {
		t.Errorf("low: %d preemptions (summary %d), submitted %v; want 1, 1, 0", low.Preemptions, r.Summary.Preemptions, low.Submitted)
	}
	// low held 4 GPUs for 90s (its grace included), then 4 for 600s;
	// urgent 2 for 300s.
	if got := r.Summary.Queues["default"].GPUSeconds; got != 4*90+4*600+2*300 {
		t.Errorf("GPU-seconds %v, want %v", got, 4*90+4*600+2*300)
	}
	if len(r.Summary.Violations) > 0 {
		t.Errorf("violations: %v", r.Summary.Violations)
	}
}
