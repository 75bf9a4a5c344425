package state

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/phalanx-sched/phalanx/api"
)

// allocModel is what an allocTable must hold: allocations by ID.
type allocModel map[string]*api.Allocation

func (m allocModel) clone() allocModel {
	c := make(allocModel, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// check compares every read of t with the model.
func (m allocModel) check(t *testing.T, what string, tab *allocTable) {
	t.Helper()
	ids := func(as []*api.Allocation) []string {
		var out []string
		for _, a := range as {
			out = append(out, a.ID)
		}
		return out
	}
	byJob, byNode := map[string][]string{}, map[string][]string{}
	var live []string
	for id, a := range m {
		if got := tab.get(id); got != a {
			t.Fatalf("%s: get(%s) = %v, want %v", what, id, got, a)
		}
		byJob[a.JobID] = append(byJob[a.JobID], id)
		if a.Live() {
			byNode[a.NodeID] = append(byNode[a.NodeID], id)
			live = append(live, id)
		}
	}
	if tab.byID.Len() != len(m) {
		t.Fatalf("%s: %d allocations, want %d", what, tab.byID.Len(), len(m))
	}
	for _, want := range []map[string][]string{byJob, byNode} {
		for _, v := range want {
			slices.Sort(v)
		}
	}
	slices.Sort(live)
	for j := range 5 {
		job := fmt.Sprint("job-", j)
		if got := ids(under(tab.byJob, job)); !slices.Equal(got, byJob[job]) {
			t.Fatalf("%s: allocations of %s = %v, want %v", what, job, got, byJob[job])
		}
	}
	for n := range 4 {
		node := fmt.Sprint("node-", n)
		if got := ids(under(tab.byNode, node)); !slices.Equal(got, byNode[node]) {
			t.Fatalf("%s: live allocations of %s = %v, want %v", what, node, got, byNode[node])
		}
	}
	var got []string
	tab.live.Ascend(func(a *api.Allocation) bool { got = append(got, a.ID); return true })
	if !slices.Equal(got, live) {
		t.Fatalf("%s: live allocations %v, want %v", what, got, live)
	}
}

// Random writes against a map, with clones taken along the way as a
// write transaction takes them: every clone keeps reading exactly what it
// held when taken, however the table is written afterwards.
func TestAllocTableMatchesAModel(t *testing.T) {
	states := []api.AllocState{api.AllocPending, api.AllocRunning, api.AllocSucceeded, api.AllocFailed, api.AllocLost}
	for seed := range uint64(20) {
		r := rand.New(rand.NewPCG(seed, 1))
		tab, model := newAllocTable(), allocModel{}
		type frozen struct {
			tab   *allocTable
			model allocModel
		}
		var snaps []frozen
		for op := range 600 {
			if op%50 == 0 {
				// What Store.Write does: readers keep the old version;
				// writes go to a clone of it.
				snaps = append(snaps, frozen{tab, model.clone()})
				tab = tab.clone()
			}
			a := &api.Allocation{
				ID:    fmt.Sprintf("a-%03d", r.IntN(120)),
				JobID: fmt.Sprint("job-", r.IntN(5)), NodeID: fmt.Sprint("node-", r.IntN(4)),
				State: states[r.IntN(len(states))],
			}
			if old := model[a.ID]; old != nil && r.IntN(2) == 0 {
				a.JobID, a.NodeID = old.JobID, old.NodeID // mostly a state change
			}
			tab.put(a)
			model[a.ID] = a
		}
		model.check(t, fmt.Sprintf("seed %d: latest", seed), tab)
		for i, s := range snaps {
			s.model.check(t, fmt.Sprintf("seed %d: clone %d", seed, i), s.tab)
		}
	}
}
