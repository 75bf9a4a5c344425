package fsm

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/hashicorp/raft"

	"github.com/phalanx-sched/phalanx/internal/wire"

	"github.com/phalanx-sched/phalanx/scheduler/state"
)

// FSM applies committed log entries to a state.Store.
type FSM struct {
	state *state.Store
}

// New returns an FSM over store.
func New(store *state.Store) *FSM { return &FSM{state: store} }

// State is the store the FSM writes.
func (f *FSM) State() *state.Store { return f.state }

// Apply implements raft.FSM.
func (f *FSM) Apply(l *raft.Log) any {
	if l.Type != raft.LogCommand {
		return nil
	}
	return f.ApplyEntry(l.Index, l.Data)
}

// ApplyEntry applies one encoded command at index; Apply's logic without
// raft, for tests and replay.
func (f *FSM) ApplyEntry(index uint64, data []byte) any {
	if len(data) == 0 {
		panic(fmt.Sprintf("fsm: empty log entry at index %d", index))
	}
	cmd, body := Command(data[0]), data[1:]
	var resp any
	err := f.state.Write(index, func(tx *state.Txn) error {
		var err error
		switch cmd {
		case CmdJobRegister:
			resp, err = applyJobRegister(tx, decode[JobRegister](index, cmd, body))
		case CmdJobsRegister:
			resp = applyJobsRegister(tx, decode[JobsRegister](index, cmd, body))
		case CmdJobCancel:
			err = applyJobCancel(tx, decode[JobCancel](index, cmd, body))
		case CmdPlanApply:
			resp, err = applyPlan(tx, decode[PlanApply](index, cmd, body))
		case CmdAllocUpdate:
			err = applyAllocUpdate(tx, decode[AllocUpdate](index, cmd, body))
		case CmdPlace:
			resp, err = applyPlace(tx, decodeBinary[Place](index, cmd, body))
		case CmdReport:
			err = applyAllocUpdate(tx, decodeBinary[AllocUpdate](index, cmd, body))
		case CmdNodeRegister:
			err = applyNodeRegister(tx, decode[NodeRegister](index, cmd, body))
		case CmdNodeHeartbeat:
			err = applyNodeHeartbeat(tx, decode[NodeHeartbeat](index, cmd, body))
		case CmdNodeDown:
			err = applyNodeDown(tx, decode[NodeDown](index, cmd, body))
		case CmdGPUHealth:
			err = applyGPUHealth(tx, decode[GPUHealth](index, cmd, body))
		case CmdNodeDrain:
			err = applyNodeDrain(tx, decode[NodeDrain](index, cmd, body))
		case CmdNodeMigrate:
			err = applyNodeMigrate(tx, decode[NodeMigrate](index, cmd, body))
		case CmdQueuePut:
			err = applyQueuePut(tx, decode[QueuePut](index, cmd, body))
		case CmdQueueDelete:
			err = applyQueueDelete(tx, decode[QueueDelete](index, cmd, body))
		case CmdEvict:
			err = applyEvict(tx, decode[Evict](index, cmd, body))
		case CmdWalltime:
			err = applyWalltime(tx, decode[Walltime](index, cmd, body))
		case CmdServerAddr:
			err = applyServerAddr(tx, decode[ServerAddr](index, cmd, body))
		case CmdRepoPut:
			err = applyRepoPut(tx, decode[RepoPut](index, cmd, body))
		case CmdRepoDelete:
			err = applyRepoDelete(tx, decode[RepoDelete](index, cmd, body))
		case CmdSecretPut:
			err = applySecretPut(tx, decode[SecretPut](index, cmd, body))
		case CmdSecretDelete:
			err = applySecretDelete(tx, decode[SecretDelete](index, cmd, body))
		case CmdRunCreate:
			resp, err = applyRunCreate(tx, decode[RunCreate](index, cmd, body))
		case CmdRunCompile:
			err = applyRunCompile(tx, decode[RunCompile](index, cmd, body))
		case CmdRunAdvance:
			err = applyRunAdvance(tx, decode[RunAdvance](index, cmd, body))
		case CmdRunCancel:
			err = applyRunCancel(tx, decode[RunCancel](index, cmd, body))
		default:
			// A newer leader wrote it. Raft drops a follower's answer, so
			// refusing it would leave this server's state quietly apart
			// from the others' for good: stop instead, until upgraded.
			panic(fmt.Sprintf("fsm: unknown command %d at index %d: this server is older than the leader that wrote it; upgrade it (upgrade followers first, the leader last)", uint8(cmd), index))
		}
		if err != nil {
			return err
		}
		return settleJobs(tx)
	})
	if err != nil {
		return err
	}
	return resp
}

// decode reads a command's payload; a payload that does not decode is a
// corrupt log, and panics.
func decode[T any](index uint64, cmd Command, body []byte) *T {
	v := new(T)
	if err := json.Unmarshal(body, v); err != nil {
		panic(fmt.Sprintf("fsm: corrupt %v entry at index %d: %v", cmd, index, err))
	}
	return v
}

// decodeBinary reads a binary payload (see wire.go); bytes that do not
// read back whole are a corrupt log, and panic.
func decodeBinary[T any, P binaryDecoder[T]](index uint64, cmd Command, body []byte) *T {
	v := new(T)
	r := wire.Reader{B: body}
	P(v).readBinary(&r)
	if err := r.Done(); err != nil {
		panic(fmt.Sprintf("fsm: corrupt %v entry at index %d: %v", cmd, index, err))
	}
	return v
}

// Snapshot implements raft.FSM.
func (f *FSM) Snapshot() (raft.FSMSnapshot, error) {
	snap := f.state.Snapshot()
	return &snapshot{Index: snap.Index(), Dump: snap.Dump()}, nil
}

// CheckSnapshot reads a whole snapshot as Restore would and reports
// whether it would restore; Raft treats a failed restore as fatal, so a
// snapshot from outside (an operator's file) is checked first.
func CheckSnapshot(r io.Reader) error {
	var s snapshot
	dec := json.NewDecoder(r)
	if err := dec.Decode(&s); err != nil {
		return fmt.Errorf("snapshot does not decode: %w", err)
	}
	if dec.More() {
		return fmt.Errorf("snapshot has data after its end")
	}
	for _, j := range s.Jobs {
		if j == nil || j.ID == "" {
			return fmt.Errorf("snapshot holds a job with no ID")
		}
	}
	for _, a := range s.Allocs {
		if a == nil || a.ID == "" {
			return fmt.Errorf("snapshot holds an allocation with no ID")
		}
	}
	for _, n := range s.Nodes {
		if n == nil || n.ID == "" {
			return fmt.Errorf("snapshot holds a node with no ID")
		}
	}
	for _, r := range s.Repos {
		if r == nil || r.Name == "" {
			return fmt.Errorf("snapshot holds a repo with no name")
		}
	}
	for _, sec := range s.Secrets {
		if sec == nil || sec.Repo == "" || sec.Name == "" {
			return fmt.Errorf("snapshot holds a secret with no repo or name")
		}
	}
	for _, d := range s.Deliveries {
		if d == nil || d.ID == "" {
			return fmt.Errorf("snapshot holds a webhook delivery with no ID")
		}
	}
	for _, q := range s.Queues {
		if q == nil || q.Name == "" {
			return fmt.Errorf("snapshot holds a queue with no name")
		}
	}
	for _, r := range s.Runs {
		if r == nil || r.ID == "" {
			return fmt.Errorf("snapshot holds a run with no ID")
		}
	}
	return nil
}

// Restore implements raft.FSM.
func (f *FSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	var s snapshot
	if err := json.NewDecoder(rc).Decode(&s); err != nil {
		return fmt.Errorf("fsm: restore: %w", err)
	}
	settleDump(&s.Dump)
	return f.state.Restore(s.Index, s.Dump)
}

// snapshot is the whole state, written as one JSON document.
type snapshot struct {
	Index uint64 `json:"index"`
	state.Dump
}

func (s *snapshot) Persist(sink raft.SnapshotSink) error {
	if err := json.NewEncoder(sink).Encode(s); err != nil {
		sink.Cancel()
		return fmt.Errorf("fsm: snapshot: %w", err)
	}
	return sink.Close()
}

func (s *snapshot) Release() {}
