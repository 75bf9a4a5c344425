package api

import (
	"fmt"

	"github.com/phalanx-sched/phalanx/internal/wire"
)

// AllocationsMediaType is the binary form of a node's allocations, the
// answer to GET /v1/nodes/{id}/allocations: an executor asks for it in
// its Accept header, since it reads that answer more than anything else
// and JSON of allocations costs several times as much to write and read.
// JSON stays the default.
const AllocationsMediaType = "application/vnd.phalanx.allocations.v1"

// AppendNodeAllocations appends na's binary form (package wire) to b.
func AppendNodeAllocations(b []byte, na *NodeAllocations) []byte {
	w := wire.Writer{B: b}
	w.Uint(na.Index)
	w.Len(len(na.Allocations))
	for _, a := range na.Allocations {
		writeAlloc(&w, a)
	}
	return w.B
}

// ReadNodeAllocations reads what AppendNodeAllocations wrote.
func ReadNodeAllocations(b []byte) (*NodeAllocations, error) {
	r := wire.Reader{B: b}
	na := &NodeAllocations{Index: r.Uint(), Allocations: []*Allocation{}}
	// Each allocation takes some bytes, but an Allocation in memory is
	// hundreds: stop at the first error, so that a corrupt count cannot
	// make the reader allocate far more than it was given.
	for n := r.Len(); n > 0 && r.Err == nil; n-- {
		na.Allocations = append(na.Allocations, readAlloc(&r))
	}
	if err := r.Done(); err != nil {
		return nil, fmt.Errorf("node allocations: %w", err)
	}
	return na, nil
}

func writeAlloc(w *wire.Writer, a *Allocation) {
	w.Str(a.ID)
	w.Str(a.JobID)
	w.Str(a.JobName)
	w.Str(a.Group)
	w.Int(int64(a.Index))
	w.Str(a.NodeID)
	w.Str(a.NodeName)
	w.Int(int64(a.Attempt))
	writeTask(w, &a.Task)
	w.Strs(a.GPUs)
	w.Ints(a.GPUIndices)
	w.Ints(a.Ports)
	w.Int(int64(a.Rank))
	w.Int(int64(a.NodeRank))
	w.Int(int64(a.WorldSize))
	w.Str(a.MasterAddr)
	w.Int(int64(a.MasterPort))
	w.Flag(a.Migrated)
	w.Flag(a.Preempted)
	w.Str(string(a.DesiredState))
	w.Str(string(a.State))
	w.Flag(a.ExitCode != nil)
	if a.ExitCode != nil {
		w.Int(int64(*a.ExitCode))
	}
	w.Str(a.Message)
	w.Time(a.CreateTime)
	w.Time(a.StartTime)
	w.Time(a.FinishTime)
	w.Uint(a.CreateIndex)
	w.Uint(a.ModifyIndex)
}

func readAlloc(r *wire.Reader) *Allocation {
	a := &Allocation{}
	a.ID = r.Str()
	a.JobID = r.Str()
	a.JobName = r.Str()
	a.Group = r.Str()
	a.Index = int(r.Int())
	a.NodeID = r.Str()
	a.NodeName = r.Str()
	a.Attempt = int(r.Int())
	readTask(r, &a.Task)
	a.GPUs = r.Strs()
	a.GPUIndices = r.Ints()
	a.Ports = r.Ints()
	a.Rank = int(r.Int())
	a.NodeRank = int(r.Int())
	a.WorldSize = int(r.Int())
	a.MasterAddr = r.Str()
	a.MasterPort = int(r.Int())
	a.Migrated = r.Flag()
	a.Preempted = r.Flag()
	a.DesiredState = DesiredState(r.Str())
	a.State = AllocState(r.Str())
	if r.Flag() {
		code := int(r.Int())
		a.ExitCode = &code
	}
	a.Message = r.Str()
	a.CreateTime = r.Time()
	a.StartTime = r.Time()
	a.FinishTime = r.Time()
	a.CreateIndex = r.Uint()
	a.ModifyIndex = r.Uint()
	return a
}

func writeTask(w *wire.Writer, t *Task) {
	w.Str(t.Image)
	w.Strs(t.Command)
	w.StrMap(t.Env)
	w.Str(t.WorkingDir)
	w.Int(t.Resources.CPUMilli)
	w.Int(t.Resources.MemoryBytes)
	w.Int(int64(t.Resources.GPUs))
	w.Str(t.Resources.GPUModel)
	w.Int(t.Resources.GPUMemoryBytes)
	w.Int(int64(t.KillTimeout))
	w.Str(t.Network)
	w.Flag(t.Workspace != nil)
	if ws := t.Workspace; ws != nil {
		w.Str(ws.ID)
		w.Str(ws.MountPath)
		w.Flag(ws.Checkout != nil)
		if c := ws.Checkout; c != nil {
			w.Str(c.URL)
			w.Str(c.Commit)
			w.Str(c.Ref)
			w.Str(c.Token)
		}
	}
	w.Strs(t.SecretEnv)
}

func readTask(r *wire.Reader, t *Task) {
	t.Image = r.Str()
	t.Command = r.Strs()
	t.Env = r.StrMap()
	t.WorkingDir = r.Str()
	t.Resources.CPUMilli = r.Int()
	t.Resources.MemoryBytes = r.Int()
	t.Resources.GPUs = int(r.Int())
	t.Resources.GPUModel = r.Str()
	t.Resources.GPUMemoryBytes = r.Int()
	t.KillTimeout = Duration(r.Int())
	t.Network = r.Str()
	if r.Flag() {
		ws := &Workspace{ID: r.Str(), MountPath: r.Str()}
		if r.Flag() {
			ws.Checkout = &Checkout{URL: r.Str(), Commit: r.Str(), Ref: r.Str(), Token: r.Str()}
		}
		t.Workspace = ws
	}
	t.SecretEnv = r.Strs()
}
