package fsm

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/phalanx-sched/phalanx/api"
	"github.com/phalanx-sched/phalanx/scheduler"
	"github.com/phalanx-sched/phalanx/scheduler/state"
)

// Whatever the commands, every job's Unplaced is what scheduler.Missing
// finds from its allocations, after every entry and after a snapshot
// restore: random registrations, placements (fitting or not), reports,
// node losses, drains, evictions, walltimes and cancels.
func TestUnplacedFollowsMissing(t *testing.T) {
	for seed := range uint64(30) {
		r := rand.New(rand.NewPCG(seed, 3))
		h := newHarness(t)
		nodes := []string{"n1", "n2", "n3"}
		for _, id := range nodes {
			h.mustApply(CmdNodeRegister, &NodeRegister{Node: node(id, 4)})
		}
		var jobs []string
		allocN := 0
		live := func() []*api.Allocation { return h.fsm.State().Snapshot().LiveAllocs() }
		for op := range 120 {
			snap := h.fsm.State().Snapshot()
			switch k := r.IntN(10); {
			case k < 2 || len(jobs) == 0:
				id := fmt.Sprintf("j%d", len(jobs))
				j := job(id, r.IntN(2) == 0, 1+r.IntN(3), r.IntN(2), r.IntN(2))
				if r.IntN(3) == 0 {
					j.Spec.Groups = append(j.Spec.Groups, api.Group{Name: "ps", Count: 1 + r.IntN(2),
						Restart: api.RestartPolicy{Attempts: r.IntN(2)}, Task: j.Spec.Groups[0].Task})
				}
				j.Spec.Walltime = api.Duration(time.Duration(r.IntN(2)) * time.Hour)
				h.apply(CmdJobRegister, &JobRegister{Job: j})
				jobs = append(jobs, id)
			case k < 5: // place some (or, for a gang, all) missing members
				j, err := snap.Job(jobs[r.IntN(len(jobs))])
				if err != nil {
					break
				}
				missing := scheduler.Missing(j, snap.JobAllocs(j.ID))
				pj := PlaceJob{JobID: j.ID, Attempt: j.Attempt}
				for _, m := range missing {
					if !j.Spec.Gang && r.IntN(2) == 0 {
						continue
					}
					allocN++
					pm := PlaceMember{AllocID: fmt.Sprintf("a%d", allocN), GroupIndex: m.GroupIndex, Index: m.Index,
						NodeID: nodes[r.IntN(len(nodes))]}
					if j.Spec.Groups[m.GroupIndex].Task.Resources.GPUs > 0 {
						pm.GPUIndices = []int{r.IntN(4)}
					}
					if scheduler.NeedsRendezvousPort(j, m) {
						pm.Ports = []int{29500 + r.IntN(3)}
					}
					pj.Members = append(pj.Members, pm)
				}
				if len(pj.Members) > 0 {
					h.apply(CmdPlace, &Place{Jobs: []PlaceJob{pj}, Time: t0})
				}
			case k < 8: // a report
				ls := live()
				if len(ls) == 0 {
					break
				}
				a := ls[r.IntN(len(ls))]
				states := []api.AllocState{api.AllocRunning, api.AllocSucceeded, api.AllocFailed, api.AllocLost, api.AllocStopped}
				u := api.AllocUpdate{ID: a.ID, NodeID: a.NodeID, State: states[r.IntN(len(states))], Time: t0}
				if u.State.Terminal() {
					u.ExitCode = exit(r.IntN(2))
				}
				h.apply(CmdReport, &AllocUpdate{Updates: []api.AllocUpdate{u}})
			case k < 9: // something bigger happens to a node or a job
				n := nodes[r.IntN(len(nodes))]
				jid := jobs[r.IntN(len(jobs))]
				switch r.IntN(5) {
				case 0:
					h.apply(CmdNodeDown, &NodeDown{NodeID: n, Reason: "test", Time: t0})
					h.apply(CmdNodeHeartbeat, &NodeHeartbeat{NodeID: n, Time: t0})
				case 1:
					h.apply(CmdNodeDrain, &NodeDrain{NodeID: n, Drain: &api.Drain{Since: t0}})
					h.apply(CmdNodeMigrate, &NodeMigrate{NodeID: n, Time: t0})
					h.apply(CmdNodeDrain, &NodeDrain{NodeID: n})
				case 2:
					var ids []string
					for _, a := range snap.JobAllocs(jid) {
						if a.Live() {
							ids = append(ids, a.ID)
						}
					}
					h.apply(CmdEvict, &Evict{Evictions: []scheduler.Eviction{{JobID: jid, AllocIDs: ids, Reason: "test"}}, Time: t0})
				case 3:
					h.apply(CmdWalltime, &Walltime{Overruns: []scheduler.Overrun{{JobID: jid, Deadline: t0}}, Time: t0})
				case 4:
					h.apply(CmdJobCancel, &JobCancel{JobID: jid, Time: t0})
				}
			default:
				h.apply(CmdJobsRegister, &JobsRegister{Jobs: []api.Job{job(fmt.Sprintf("j%d", len(jobs)), false, 2, 0, 0)}})
				jobs = append(jobs, fmt.Sprintf("j%d", len(jobs)))
			}
			checkUnplaced(t, fmt.Sprintf("seed %d op %d", seed, op), h.fsm.State().Snapshot())
		}
		// A snapshot restores with the same counts, even one whose jobs
		// do not carry them (written before the field existed).
		sink := persist(t, h.fsm)
		old := bytes.ReplaceAll(sink.Bytes(), []byte(`"unplaced":`), []byte(`"unplaced_was":`))
		restored := New(state.New())
		if err := restored.Restore(io.NopCloser(bytes.NewReader(old))); err != nil {
			t.Fatal(err)
		}
		checkUnplaced(t, fmt.Sprintf("seed %d restored", seed), restored.State().Snapshot())
		for _, j := range h.fsm.State().Snapshot().Jobs() {
			if got, _ := restored.State().Snapshot().Job(j.ID); got.Unplaced != j.Unplaced {
				t.Fatalf("seed %d: job %s restored with unplaced %d, had %d", seed, j.ID, got.Unplaced, j.Unplaced)
			}
		}
	}
}

func checkUnplaced(t *testing.T, when string, snap *state.Snapshot) {
	t.Helper()
	waiting := map[string]bool{}
	for _, j := range snap.UnplacedJobs() {
		waiting[j.ID] = true
	}
	for _, j := range snap.Jobs() {
		want := 0
		if !j.State.Terminal() {
			want = len(scheduler.Missing(j, snap.JobAllocs(j.ID)))
		}
		if j.Unplaced != want {
			t.Fatalf("%s: job %s (%s, gang %v, attempt %d) has unplaced %d, Missing finds %d", when, j.ID, j.State, j.Spec.Gang, j.Attempt, j.Unplaced, want)
		}
		if waiting[j.ID] != (want > 0) {
			t.Fatalf("%s: job %s listed as waiting: %v, unplaced %d", when, j.ID, waiting[j.ID], want)
		}
	}
}
