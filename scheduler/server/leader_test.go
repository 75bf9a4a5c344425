package server

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/phalanx-sched/phalanx/api"
	"github.com/phalanx-sched/phalanx/scheduler"
)

// The pass skips reading a job's history only when scheduler.Missing
// would find nothing missing: random jobs and allocations (with at most
// one live allocation per member, as the FSM keeps it) never disagree.
func TestFullyPlacedAgreesWithMissing(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	states := []api.AllocState{api.AllocPending, api.AllocRunning, api.AllocSucceeded, api.AllocFailed, api.AllocLost, api.AllocStopped}
	skipped := 0
	for i := range 5000 {
		j := &api.Job{ID: fmt.Sprint("j", i), State: api.JobRunning, Attempt: r.IntN(3), Spec: api.JobSpec{Gang: r.IntN(2) == 0}}
		for g := range 1 + r.IntN(2) {
			j.Spec.Groups = append(j.Spec.Groups, api.Group{Name: fmt.Sprint("g", g), Count: 1 + r.IntN(3),
				Restart: api.RestartPolicy{Attempts: r.IntN(2)}})
		}
		var all, live []*api.Allocation
		for _, g := range j.Spec.Groups {
			for idx := range g.Count {
				hasLive := false
				for range r.IntN(3) {
					a := &api.Allocation{ID: fmt.Sprint(len(all)), JobID: j.ID, Group: g.Name, Index: idx,
						Attempt: r.IntN(j.Attempt + 1), State: states[r.IntN(len(states))]}
					if a.Live() {
						if hasLive {
							a.State = api.AllocStopped
						}
						hasLive = true
					}
					all = append(all, a)
					if a.Live() {
						live = append(live, a)
					}
				}
			}
		}
		if fullyPlaced(j, livePerJob(live)[j.ID]) {
			skipped++
			if m := scheduler.Missing(j, all); len(m) > 0 {
				t.Fatalf("job %d (gang %v, attempt %d) skipped but missing %v; allocations %+v", i, j.Spec.Gang, j.Attempt, m, all)
			}
		}
	}
	if skipped < 100 {
		t.Fatalf("only %d of 5000 jobs were found fully placed: the test checks little", skipped)
	}
}
