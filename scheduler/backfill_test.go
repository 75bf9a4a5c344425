package scheduler

import (
	"testing"
	"time"

	"github.com/phalanx-sched/phalanx/api"
)

func TestScheduleBackfill(t *testing.T) {
	hour := t0.Add(-time.Hour)
	eight, four := res(8, 64, 8), res(4, 32, 4)
	// r1 holds n1 until t0+1h (a 2h walltime started an hour ago); r2
	// holds half of n2 with no walltime.
	r1, x1 := holder("default", "r1", 90, eight, "n1", hour, 0, 1, 2, 3, 4, 5, 6, 7)
	withWalltime(2*time.Hour, r1)
	r2, x2 := holder("default", "r2", 90, four, "n2", hour, 0, 1, 2, 3)
	r3, x3 := holder("default", "r3", 90, eight, "n2", hour, 0, 1, 2, 3, 4, 5, 6, 7)
	withWalltime(3*time.Hour, r3)
	two := func() []*api.Node { return []*api.Node{node("n1", 32, 256, 8), node("n2", 32, 256, 8)} }
	big := job("big", 60, 0, false, group("w", 1, eight))
	at := "waiting for reservation at 2025-01-01T01:00:00Z; "
	res1 := []Reservation{{JobID: "big", Time: t0.Add(time.Hour), NodeIDs: []string{"n1"}}}

	// One node: r4 holds half of it until t0+1h.
	r4, x4 := holder("default", "r4", 90, four, "n1", hour, 0, 1, 2, 3)
	withWalltime(2*time.Hour, r4)
	one := func() []*api.Node { return []*api.Node{node("n1", 32, 256, 8)} }
	later := func(id string, wall time.Duration) *api.Job {
		j := job(id, 50, 5, false, group("w", 1, four))
		j.Spec.Walltime = api.Duration(wall)
		return j
	}

	runPlanCases(t, []planCase{{
		name: "the first job that does not fit is reserved the earliest time walltimes free room for it",
		in:   Input{Nodes: two(), Allocs: []*api.Allocation{x1, x3}, Running: []*api.Job{r1, r3}, Jobs: requests(big)},
		want: Plan{
			Pending:      []Pending{{JobID: "big", Reason: at + "0/2 nodes fit: 2 too few free GPUs"}},
			Reservations: res1,
		},
	}, {
		name: "a later job runs now beside the reservation, on GPUs it does not need",
		in: Input{Nodes: two(), Allocs: []*api.Allocation{x1, x2}, Running: []*api.Job{r1, r2},
			Jobs: requests(big, later("beside", 0))},
		want: Plan{
			Jobs:         []JobPlacement{{JobID: "beside", Placements: []Placement{place(w0(), "n2", 4, 5, 6, 7)}}},
			Pending:      []Pending{{JobID: "big", Reason: at + "0/2 nodes fit: 2 too few free GPUs"}},
			Reservations: res1,
		},
	}, {
		name: "a later job whose walltime ends before the reservation backfills into it",
		in:   Input{Nodes: one(), Allocs: []*api.Allocation{x4}, Running: []*api.Job{r4}, Jobs: requests(big, later("short", 30*time.Minute))},
		want: Plan{
			Jobs:         []JobPlacement{{JobID: "short", Placements: []Placement{place(w0(), "n1", 4, 5, 6, 7)}}},
			Pending:      []Pending{{JobID: "big", Reason: at + "0/1 nodes fit: 1 too few free GPUs"}},
			Reservations: res1,
		},
	}, {
		name: "a later job that would still run at the reservation time waits",
		in:   Input{Nodes: one(), Allocs: []*api.Allocation{x4}, Running: []*api.Job{r4}, Jobs: requests(big, later("long", 2*time.Hour))},
		want: Plan{
			Pending: []Pending{
				{JobID: "big", Reason: at + "0/1 nodes fit: 1 too few free GPUs"},
				{JobID: "long", Reason: "0/1 nodes fit: 1 held for a reservation"},
			},
			Reservations: res1,
		},
	}, {
		name: "a job without walltime never backfills past a reservation",
		in:   Input{Nodes: one(), Allocs: []*api.Allocation{x4}, Running: []*api.Job{r4}, Jobs: requests(big, later("open", 0))},
		want: Plan{
			Pending: []Pending{
				{JobID: "big", Reason: at + "0/1 nodes fit: 1 too few free GPUs"},
				{JobID: "open", Reason: "0/1 nodes fit: 1 held for a reservation"},
			},
			Reservations: res1,
		},
	}, {
		name: "no reservation when the running jobs have no walltime: later work runs",
		in: Input{Nodes: one(), Allocs: []*api.Allocation{startedAt(hour, alloc("x-r5", "r5", "n1", four, 0, 1, 2, 3))},
			Running: []*api.Job{running(job("r5", 90, -60, false, group("w", 1, four)))}, Jobs: requests(big, later("open", 0))},
		want: Plan{
			Jobs:    []JobPlacement{{JobID: "open", Placements: []Placement{place(w0(), "n1", 4, 5, 6, 7)}}},
			Pending: []Pending{{JobID: "big", Reason: "0/1 nodes fit: 1 too few free GPUs"}},
		},
	}})
}

func TestOverdue(t *testing.T) {
	j := withWalltime(time.Hour, running(job("j", 50, 0, false, group("w", 2, res(1, 1, 0)))))
	g := withWalltime(time.Hour, running(job("g", 50, 0, true, group("w", 2, res(1, 1, 0)))))
	none := running(job("none", 50, 0, false, group("w", 1, res(1, 1, 0))))
	allocs := []*api.Allocation{
		startedAt(t0.Add(-2*time.Hour), alloc("j-0", "j", "n1", res(1, 1, 0))),
		startedAt(t0.Add(-30*time.Minute), alloc("j-1", "j", "n1", res(1, 1, 0))),
		startedAt(t0.Add(-time.Hour), alloc("g-0", "g", "n1", res(1, 1, 0))),
		startedAt(t0, alloc("g-1", "g", "n1", res(1, 1, 0))),
		startedAt(t0.Add(-5*time.Hour), alloc("none-0", "none", "n1", res(1, 1, 0))),
		alloc("j-pending", "j", "n1", res(1, 1, 0)),
	}
	got := Overdue([]*api.Job{none, j, g}, allocs, t0)
	want := []Overrun{
		{JobID: "g", Deadline: t0, AllocIDs: []string{"g-0", "g-1"}},
		{JobID: "j", Deadline: t0.Add(-time.Hour), AllocIDs: []string{"j-0"}},
	}
	if diff := cmpDiff(want, got); diff != "" {
		t.Errorf("Overdue() mismatch (-want +got):\n%s", diff)
	}
}

// Allocations already being stopped (an evicted gang's old attempt while
// its new one waits, a task stopping after a failure) are no walltime
// overrun: failing the job for them would fail a preempted job that
// waits to run again.
func TestOverdueIgnoresStoppingWork(t *testing.T) {
	g := withWalltime(time.Hour, job("g", 50, 0, true, group("w", 2, res(1, 1, 0))))
	g.Attempt = 1 // evicted: attempt 0 stops, attempt 1 waits
	j := withWalltime(time.Hour, running(job("j", 50, 0, false, group("w", 2, res(1, 1, 0)))))
	old := func(id, jobID string) *api.Allocation {
		return startedAt(t0.Add(-2*time.Hour), alloc(id, jobID, "n1", res(1, 1, 0)))
	}
	allocs := []*api.Allocation{
		stopping(old("g-0", "g")), stopping(old("g-1", "g")),
		stopping(old("j-0", "j")),
		old("j-1", "j"),
	}
	got := Overdue([]*api.Job{g, j}, allocs, t0)
	want := []Overrun{{JobID: "j", Deadline: t0.Add(-time.Hour), AllocIDs: []string{"j-1"}}}
	if diff := cmpDiff(want, got); diff != "" {
		t.Errorf("Overdue() mismatch (-want +got):\n%s", diff)
	}
}
