package fsm

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/phalanx-sched/phalanx/api"
	"github.com/phalanx-sched/phalanx/internal/wire"
	"github.com/phalanx-sched/phalanx/scheduler"
)

// A Place entry carries only the scheduler's decisions; the FSM builds
// each allocation from the job: the group's task, what each member is
// told (rank, world size, node rank, rendezvous address, which Env turns
// into PHALANX_* variables), the GPUs' UUIDs from their indices, the
// node's name.
func TestPlaceBuildsAllocationsFromTheJob(t *testing.T) {
	h := newHarness(t)
	n1, n2 := node("n1", 2), node("n2", 2)
	n2.Address = "10.0.0.2:7402"
	h.mustApply(CmdNodeRegister, &NodeRegister{Node: n1})
	h.mustApply(CmdNodeRegister, &NodeRegister{Node: n2})
	j := job("g", true, 1, 0, 1)
	j.Spec.Network = api.NetworkHost
	j.Spec.Groups[0].Task.Env = map[string]string{"EPOCHS": "3"}
	j.Spec.Groups = append(j.Spec.Groups, api.Group{Name: "ps", Count: 2, Task: api.Task{Image: "ps",
		Resources: api.Resources{CPUMilli: 1000, MemoryBytes: 1 << 30, GPUs: 1}}})
	h.mustApply(CmdJobRegister, &JobRegister{Job: j})
	res := h.mustApply(CmdPlace, &Place{Time: t0, Jobs: []PlaceJob{{JobID: "g", Members: []PlaceMember{
		{AllocID: "w0", GroupIndex: 0, Index: 0, NodeID: "n2", GPUIndices: []int{1}, Ports: []int{29500}},
		{AllocID: "p0", GroupIndex: 1, Index: 0, NodeID: "n1", GPUIndices: []int{0}},
		{AllocID: "p1", GroupIndex: 1, Index: 1, NodeID: "n2", GPUIndices: []int{0}},
	}}}}).(*PlanResult)
	if len(res.Rejected) != 0 {
		t.Fatalf("rejected: %v", res.Rejected)
	}
	env := func(alloc, group, index, rank, nodeRank string) map[string]string {
		e := map[string]string{"PHALANX_JOB_ID": "g", "PHALANX_JOB_NAME": "g", "PHALANX_ALLOC_ID": alloc,
			"PHALANX_GROUP": group, "PHALANX_GROUP_INDEX": index, "PHALANX_RANK": rank, "PHALANX_WORLD_SIZE": "3",
			"PHALANX_NODE_RANK": nodeRank, "MASTER_ADDR": "10.0.0.2", "MASTER_PORT": "29500"}
		if group == "worker" {
			e["EPOCHS"] = "3"
		}
		return e
	}
	workerEnv := map[string]string{"EPOCHS": "3"}
	for _, tc := range []struct {
		want api.Allocation
		env  map[string]string
	}{
		{api.Allocation{ID: "w0", Group: "worker", Index: 0, NodeID: "n2", NodeName: "name-n2", GPUIndices: []int{1}, GPUs: []string{"n2-gpu1"},
			Ports: []int{29500}, Task: api.Task{Image: "img", Env: workerEnv, Network: api.NetworkHost}, Rank: 0, NodeRank: 0},
			env("w0", "worker", "0", "0", "0")},
		{api.Allocation{ID: "p0", Group: "ps", Index: 0, NodeID: "n1", NodeName: "name-n1", GPUIndices: []int{0}, GPUs: []string{"n1-gpu0"},
			Task: api.Task{Image: "ps", Network: api.NetworkHost}, Rank: 1, NodeRank: 1},
			env("p0", "ps", "0", "1", "1")},
		{api.Allocation{ID: "p1", Group: "ps", Index: 1, NodeID: "n2", NodeName: "name-n2", GPUIndices: []int{0}, GPUs: []string{"n2-gpu0"},
			Task: api.Task{Image: "ps", Network: api.NetworkHost}, Rank: 2, NodeRank: 0},
			env("p1", "ps", "1", "2", "0")},
	} {
		want := tc.want
		got := h.alloc(want.ID)
		want.JobID, want.JobName, want.State, want.DesiredState, want.CreateTime = "g", "g", api.AllocPending, api.DesiredRun, t0
		want.WorldSize, want.MasterAddr, want.MasterPort = 3, "10.0.0.2", 29500
		want.Task.Resources = api.Resources{CPUMilli: 1000, MemoryBytes: 1 << 30, GPUs: 1}
		want.CreateIndex, want.ModifyIndex = got.CreateIndex, got.ModifyIndex
		if diff := cmp.Diff(&want, got); diff != "" {
			t.Errorf("allocation %s (-want +got):\n%s", want.ID, diff)
		}
		if diff := cmp.Diff(tc.env, got.Env()); diff != "" {
			t.Errorf("allocation %s env (-want +got):\n%s", want.ID, diff)
		}
	}
	// The job's spec is untouched.
	if spec := h.job("g").Spec.Groups[0].Task.Env; len(spec) != 1 {
		t.Fatalf("the job's env changed: %v", spec)
	}
}

// A job whose placements cannot be built or no longer fit is dropped
// whole; the others in the entry commit.
func TestPlaceDropsWhatCannotBeBuilt(t *testing.T) {
	for _, tc := range []struct {
		name   string
		member PlaceMember
		job    string
		want   string
	}{
		{"unknown job", PlaceMember{AllocID: "x", NodeID: "n1"}, "nope", "job no longer exists"},
		{"no such group", PlaceMember{AllocID: "x", GroupIndex: 3, NodeID: "n1"}, "j2", "no member 0 of group 3"},
		{"no such member", PlaceMember{AllocID: "x", Index: 9, NodeID: "n1"}, "j2", "no member 9 of group 0"},
		{"no such node", PlaceMember{AllocID: "x", NodeID: "n9", GPUIndices: []int{0}}, "j2", "node n9 no longer exists"},
		{"no such GPU", PlaceMember{AllocID: "x", NodeID: "n1", GPUIndices: []int{7}}, "j2", "node name-n1 has no GPU 7"},
		{"GPU taken", PlaceMember{AllocID: "x", NodeID: "n1", GPUIndices: []int{0}}, "j2", "GPU"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.mustApply(CmdNodeRegister, &NodeRegister{Node: node("n1", 2)})
			h.mustApply(CmdJobRegister, &JobRegister{Job: job("j1", false, 1, 0, 1)})
			h.mustApply(CmdJobRegister, &JobRegister{Job: job("j2", false, 1, 0, 1)})
			res := h.mustApply(CmdPlace, &Place{Time: t0, Jobs: []PlaceJob{
				{JobID: "j1", Members: []PlaceMember{{AllocID: "a1", NodeID: "n1", GPUIndices: []int{0}}}},
				{JobID: tc.job, Members: []PlaceMember{tc.member}},
			}}).(*PlanResult)
			if why := res.Rejected[tc.job]; !strings.Contains(why, tc.want) {
				t.Fatalf("rejected %v: want %s dropped for %q", res.Rejected, tc.job, tc.want)
			}
			if a := h.alloc("a1"); a.State != api.AllocPending {
				t.Fatalf("j1's placement did not commit: %+v", a)
			}
			if _, err := h.fsm.State().Snapshot().Alloc("x"); err == nil {
				t.Fatal("a dropped placement was stored")
			}
		})
	}
}

// A placement for an attempt the job has moved past is dropped.
func TestPlaceForAnOldAttemptIsDropped(t *testing.T) {
	h := newHarness(t)
	h.mustApply(CmdNodeRegister, &NodeRegister{Node: node("n1", 0)})
	h.mustApply(CmdJobRegister, &JobRegister{Job: job("g", true, 1, 1, 0)})
	h.mustApply(CmdPlace, &Place{Time: t0, Jobs: []PlaceJob{{JobID: "g", Members: []PlaceMember{{AllocID: "a0", NodeID: "n1"}}}}})
	h.mustApply(CmdReport, &AllocUpdate{Updates: []api.AllocUpdate{{ID: "a0", NodeID: "n1", State: api.AllocFailed, ExitCode: exit(1), Time: t0}}})
	if j := h.job("g"); j.Attempt != 1 || j.State != api.JobQueued {
		t.Fatalf("after the failure: attempt %d, %s", j.Attempt, j.State)
	}
	res := h.mustApply(CmdPlace, &Place{Time: t0, Jobs: []PlaceJob{{JobID: "g", Attempt: 0, Members: []PlaceMember{{AllocID: "b0", NodeID: "n1"}}}}}).(*PlanResult)
	if res.Rejected["g"] == "" {
		t.Fatal("a placement for attempt 0 committed for a job at attempt 1")
	}
}

// A report that a task runs changes its allocation alone (the job keeps
// the reason its other member waits); one that it ended settles the job.
func TestReportOfARunningTaskTouchesOnlyItsAllocation(t *testing.T) {
	h := newHarness(t)
	h.mustApply(CmdNodeRegister, &NodeRegister{Node: node("n1", 0)})
	h.mustApply(CmdJobRegister, &JobRegister{Job: job("j", false, 2, 0, 0)})
	h.mustApply(CmdPlace, &Place{Time: t0, Jobs: []PlaceJob{{JobID: "j", Members: []PlaceMember{{AllocID: "a0", NodeID: "n1"}}}},
		Pending: []scheduler.Pending{{JobID: "j", Reason: "0/1 nodes fit: 1 not enough memory"}}})
	before := h.job("j")
	h.mustApply(CmdReport, &AllocUpdate{Updates: []api.AllocUpdate{{ID: "a0", NodeID: "n1", State: api.AllocRunning, Time: t0.Add(time.Second)}}})
	if a := h.alloc("a0"); a.State != api.AllocRunning || !a.StartTime.Equal(t0.Add(time.Second)) {
		t.Fatalf("allocation: %s since %v", a.State, a.StartTime)
	}
	if j := h.job("j"); j.ModifyIndex != before.ModifyIndex || j.Reason != before.Reason {
		t.Fatalf("the job changed: %q at %d, was %q at %d", j.Reason, j.ModifyIndex, before.Reason, before.ModifyIndex)
	}
	h.mustApply(CmdReport, &AllocUpdate{Updates: []api.AllocUpdate{{ID: "a0", NodeID: "n1", State: api.AllocFailed, ExitCode: exit(2), Time: t0.Add(time.Minute)}}})
	if j := h.job("j"); j.State != api.JobQueued || j.Reason != "restarting after worker[0] exited with code 2" {
		t.Fatalf("after the failure: %s %q", j.State, j.Reason)
	}
}

// Every payload reads back as it was written.
func TestBinaryPayloadsRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	str := func() string {
		b := make([]byte, r.IntN(40))
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		return string(b)
	}
	ints := func() []int {
		if r.IntN(3) == 0 {
			return nil
		}
		v := make([]int, 1+r.IntN(8))
		for i := range v {
			v[i] = r.IntN(1<<20) - 1<<19
		}
		return v
	}
	when := func() time.Time {
		if r.IntN(4) == 0 {
			return time.Time{}
		}
		return time.Unix(0, r.Int64N(1<<62)).UTC()
	}
	for range 200 {
		p := &Place{Time: when()}
		for range r.IntN(4) {
			pj := PlaceJob{JobID: str(), Attempt: r.IntN(9)}
			for range 1 + r.IntN(5) {
				pj.Members = append(pj.Members, PlaceMember{AllocID: str(), GroupIndex: r.IntN(4), Index: r.IntN(100),
					NodeID: str(), GPUIndices: ints(), Ports: ints()})
			}
			p.Jobs = append(p.Jobs, pj)
		}
		for range r.IntN(3) {
			p.Pending = append(p.Pending, scheduler.Pending{JobID: str(), Reason: str()})
		}
		u := &AllocUpdate{}
		for range r.IntN(5) {
			au := api.AllocUpdate{ID: str(), NodeID: str(), State: api.AllocState(str()), Message: str(), Time: when()}
			if r.IntN(2) == 0 {
				code := r.IntN(512) - 256
				au.ExitCode = &code
			}
			u.Updates = append(u.Updates, au)
		}
		roundTrip(t, CmdPlace, p, decodeBinary[Place])
		roundTrip(t, CmdReport, u, decodeBinary[AllocUpdate])
	}
}

func roundTrip[T any](t *testing.T, c Command, v *T, dec func(uint64, Command, []byte) *T) {
	t.Helper()
	data, err := Encode(c, v)
	if err != nil {
		t.Fatal(err)
	}
	if Command(data[0]) != c {
		t.Fatalf("entry starts with %d, want %v", data[0], c)
	}
	if diff := cmp.Diff(v, dec(1, c, data[1:])); diff != "" {
		t.Fatalf("%v read back differently (-wrote +read):\n%s", c, diff)
	}
}

// Bytes that are not a whole payload are a corrupt log: the FSM panics
// rather than apply something else.
func TestCorruptBinaryEntriesPanic(t *testing.T) {
	data, err := Encode(CmdPlace, &Place{Time: t0, Jobs: []PlaceJob{{JobID: "j", Members: []PlaceMember{{AllocID: "a", NodeID: "n"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][]byte{data[:len(data)-1], append(append([]byte(nil), data...), 0), data[:3]} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("no panic for %x", bad)
				}
			}()
			New(newHarness(t).fsm.State()).ApplyEntry(1, bad)
		}()
	}
	if _, err := Encode(CmdPlace, &PlanApply{}); err == nil {
		t.Fatal("a PlanApply was encoded as a Place")
	}
}

// FuzzBinaryPayloads: any bytes either read as a payload that writes
// back to bytes reading the same, or are refused; the reader never
// panics.
func FuzzBinaryPayloads(f *testing.F) {
	for _, p := range []any{
		&Place{Time: t0, Jobs: []PlaceJob{{JobID: "j", Attempt: 1, Members: []PlaceMember{{AllocID: "a", NodeID: "n", GPUIndices: []int{0, 1}, Ports: []int{29500}}}}}},
		&AllocUpdate{Updates: []api.AllocUpdate{{ID: "a", NodeID: "n", State: api.AllocFailed, ExitCode: exit(3), Message: "m", Time: t0}}},
	} {
		w := wire.Writer{}
		p.(binaryPayload).appendBinary(&w)
		f.Add(w.B)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		check := func(v interface{ readBinary(*wire.Reader) }, fresh func() interface{ readBinary(*wire.Reader) }) {
			r := wire.Reader{B: data}
			v.readBinary(&r)
			if r.Done() != nil {
				return
			}
			w := wire.Writer{}
			v.(binaryPayload).appendBinary(&w)
			again := fresh()
			r2 := wire.Reader{B: w.B}
			again.readBinary(&r2)
			if err := r2.Done(); err != nil {
				t.Fatalf("rewritten payload does not read: %v", err)
			}
			if diff := cmp.Diff(v, again); diff != "" {
				t.Fatalf("payload changed on rewrite:\n%s", diff)
			}
		}
		check(&Place{}, func() interface{ readBinary(*wire.Reader) } { return &Place{} })
		check(&AllocUpdate{}, func() interface{ readBinary(*wire.Reader) } { return &AllocUpdate{} })
	})
}

// Submissions merged into one entry are registered one by one, in order:
// a key used twice makes one job, a taken ID refuses that job alone.
func TestJobsRegisterAppliesEachJobInOrder(t *testing.T) {
	h := newHarness(t)
	h.mustApply(CmdJobRegister, &JobRegister{Job: job("old", false, 1, 0, 0)})
	keyed := func(id, key string) api.Job { j := job(id, false, 1, 0, 0); j.IdempotencyKey = key; return j }
	res := h.mustApply(CmdJobsRegister, &JobsRegister{Jobs: []api.Job{
		keyed("a", "k1"), keyed("b", "k1"), job("old", false, 1, 0, 0), keyed("c", ""),
	}}).(*JobsRegistered)
	want := []JobRegistered{{JobID: "a"}, {JobID: "a", Existing: true}, {}, {JobID: "c"}}
	if len(res.Jobs) != len(want) {
		t.Fatalf("%d results for 4 jobs", len(res.Jobs))
	}
	for i, w := range want {
		got := res.Jobs[i]
		if got.JobID != w.JobID || got.Existing != w.Existing || (got.Err != nil) != (i == 2) {
			t.Errorf("job %d: %+v, want %+v", i, got, w)
		}
	}
	if !errors.Is(res.Jobs[2].Err, api.ErrConflict) {
		t.Errorf("a taken ID: %v, want a conflict", res.Jobs[2].Err)
	}
	jobs := h.fsm.State().Snapshot().Jobs()
	if len(jobs) != 3 {
		t.Fatalf("%d jobs stored, want old, a and c", len(jobs))
	}
	if j := h.job("a"); j.State != api.JobQueued {
		t.Fatalf("a: %s", j.State)
	}
}
