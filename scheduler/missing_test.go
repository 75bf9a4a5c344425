package scheduler

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/phalanx-sched/phalanx/api"
)

// history returns an allocation of job j's member group[index].
func history(jobID, group string, index int, state api.AllocState, attempt int) *api.Allocation {
	return &api.Allocation{ID: jobID + group, JobID: jobID, Group: group, Index: index, NodeID: "n1", State: state, Attempt: attempt}
}

func TestMissing(t *testing.T) {
	twoGroups := func(gang bool) *api.Job {
		ps := group("ps", 1, res(1, 1, 0))
		w := group("w", 2, res(1, 1, 1))
		w.Restart.Attempts = 1
		return job("j", 50, 0, gang, ps, w)
	}
	all := []Member{member("ps", 0, 0), member("w", 1, 0), member("w", 1, 1)}
	tests := []struct {
		name   string
		job    func() *api.Job
		allocs []*api.Allocation
		want   []Member
	}{{
		name: "terminal job needs nothing",
		job:  func() *api.Job { j := twoGroups(false); j.State = api.JobCancelled; return j },
	}, {
		name: "new gang needs every member in group and index order",
		job:  func() *api.Job { return twoGroups(true) },
		want: all,
	}, {
		name:   "gang with an allocation of this attempt needs nothing",
		job:    func() *api.Job { j := twoGroups(true); j.Attempt = 2; return j },
		allocs: []*api.Allocation{history("j", "w", 1, api.AllocFailed, 2)},
	}, {
		name: "gang restarted: old attempts do not count",
		job:  func() *api.Job { j := twoGroups(true); j.Attempt = 2; return j },
		allocs: []*api.Allocation{
			history("j", "ps", 0, api.AllocRunning, 1),
			history("j", "w", 0, api.AllocLost, 1),
		},
		want: all,
	}, {
		name:   "gang: allocations of other jobs are ignored",
		job:    func() *api.Job { return twoGroups(true) },
		allocs: []*api.Allocation{history("other", "w", 0, api.AllocRunning, 0)},
		want:   all,
	}, {
		name: "non-gang: live and succeeded members are not missing",
		job:  func() *api.Job { return twoGroups(false) },
		allocs: []*api.Allocation{
			history("j", "ps", 0, api.AllocSucceeded, 0),
			history("j", "w", 0, api.AllocPending, 0),
		},
		want: []Member{member("w", 1, 1)},
	}, {
		name: "non-gang: failed and lost count against restarts",
		job:  func() *api.Job { return twoGroups(false) },
		allocs: []*api.Allocation{
			history("j", "ps", 0, api.AllocFailed, 0), // ps: 0 restarts, used up
			history("j", "w", 0, api.AllocFailed, 0),  // w: 1 restart, one left
			history("j", "w", 1, api.AllocFailed, 0),
			history("j", "w", 1, api.AllocLost, 0), // used up
		},
		want: []Member{member("w", 1, 0)},
	}, {
		name: "non-gang: stopped allocations do not count",
		job:  func() *api.Job { return twoGroups(false) },
		allocs: []*api.Allocation{
			history("j", "ps", 0, api.AllocStopped, 0),
			history("j", "ps", 0, api.AllocStopped, 0),
			history("j", "w", 0, api.AllocStopped, 0),
		},
		want: all,
	}, {
		name: "non-gang: a failed member with a live retry is not missing",
		job:  func() *api.Job { return twoGroups(false) },
		allocs: []*api.Allocation{
			history("j", "ps", 0, api.AllocFailed, 0),
			history("j", "w", 0, api.AllocFailed, 0),
			history("j", "w", 0, api.AllocRunning, 0),
			history("j", "w", 1, api.AllocRunning, 0),
		},
	}, {
		name: "non-gang: allocations of other jobs and unknown members are ignored",
		job:  func() *api.Job { return twoGroups(false) },
		allocs: []*api.Allocation{
			history("other", "ps", 0, api.AllocRunning, 0),
			history("j", "w", 7, api.AllocRunning, 0),
			history("j", "nope", 0, api.AllocRunning, 0),
		},
		want: all,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Missing(tt.job(), tt.allocs)
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Missing() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
