package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"

	"github.com/phalanx-sched/phalanx/api"
	"github.com/phalanx-sched/phalanx/scheduler/fsm"
	"github.com/phalanx-sched/phalanx/scheduler/state"
)

// Server is one control-plane server.
type Server struct {
	cfg       Config
	raft      *raft.Raft
	transport raft.Transport
	fsm       *fsm.FSM
	state     *state.Store
	closer    []func() error

	// ready is set once this leader has applied everything earlier
	// leaders committed; until then it serves nothing, so it never
	// answers from older state than a client already saw acknowledged.
	ready atomic.Bool
	// hb is the leader's memory of node heartbeats (see heartbeats).
	hb heartbeats
	// updates merges concurrent allocation reports, and submits
	// concurrent submissions, into shared Raft entries (see groupCommit).
	updates groupCommit[api.AllocUpdate, struct{}]
	submits groupCommit[api.Job, fsm.JobRegistered]
	// stats counts scheduling passes for /metrics.
	stats passStats

	leaderMu     sync.Mutex
	leaderCancel context.CancelFunc
	leaderDone   chan struct{}
	wg           sync.WaitGroup
	shutdown     chan struct{}
}

// New starts a server: Raft, the FSM, and the leader loop whenever this
// server is the leader.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, state: state.New(), shutdown: make(chan struct{})}
	s.fsm = fsm.New(s.state)
	if err := s.startRaft(); err != nil {
		s.close()
		return nil, err
	}
	s.wg.Add(1)
	go s.monitorLeadership()
	return s, nil
}

func (s *Server) startRaft() error {
	cfg := s.cfg
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(cfg.NodeID)
	rc.Logger = hclog.New(&hclog.LoggerOptions{Name: "raft", Level: hclog.Warn, Output: cfg.LogOutput})
	rc.SnapshotThreshold = cfg.SnapshotThreshold
	rc.SnapshotInterval = cfg.SnapshotInterval
	rc.TrailingLogs = cfg.TrailingLogs
	// Under load, many concurrent writes (job submissions, allocation
	// reports) go to disk and to followers as one batch.
	rc.BatchApplyCh = true
	// Short timeouts make failover fast (under a second); RaftMultiplier
	// scales them for machines too loaded to answer that quickly.
	m := time.Duration(max(cfg.RaftMultiplier, 1))
	rc.HeartbeatTimeout = m * 500 * time.Millisecond
	rc.ElectionTimeout = m * 500 * time.Millisecond
	rc.LeaderLeaseTimeout = m * 250 * time.Millisecond
	rc.CommitTimeout = 5 * time.Millisecond

	var (
		logs   raft.LogStore
		stable raft.StableStore
		snaps  raft.SnapshotStore
		trans  = cfg.Transport
	)
	if cfg.InMemory {
		mem := raft.NewInmemStore()
		logs, stable, snaps = mem, mem, raft.NewInmemSnapshotStore()
	} else {
		dir := filepath.Join(cfg.DataDir, "raft")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("server: data dir: %w", err)
		}
		bolt, err := raftboltdb.New(raftboltdb.Options{Path: filepath.Join(dir, "raft.db")})
		if err != nil {
			return fmt.Errorf("server: open raft log %s: %w", dir, err)
		}
		s.closer = append(s.closer, bolt.Close)
		cache, err := raft.NewLogCache(512, bolt)
		if err != nil {
			return err
		}
		logs, stable = cache, bolt
		fs, err := raft.NewFileSnapshotStore(dir, 2, cfg.LogOutput)
		if err != nil {
			return fmt.Errorf("server: snapshot store: %w", err)
		}
		snaps = fs
	}
	if trans == nil {
		adv := cfg.RaftAdvertise
		if adv == "" {
			adv = cfg.RaftAddr
		}
		addr, err := net.ResolveTCPAddr("tcp", adv)
		if err != nil {
			return fmt.Errorf("server: raft address %q: %w", adv, err)
		}
		if addr.IP == nil || addr.IP.IsUnspecified() {
			return fmt.Errorf("server: raft address %s is not one other servers can dial: set --advertise-raft", adv)
		}
		tcp, err := raft.NewTCPTransport(cfg.RaftAddr, addr, 3, 10*time.Second, cfg.LogOutput)
		if err != nil {
			return fmt.Errorf("server: raft listen on %s: %w", cfg.RaftAddr, err)
		}
		s.closer = append(s.closer, tcp.Close)
		trans = tcp
	}
	existing, err := raft.HasExistingState(logs, stable, snaps)
	if err != nil {
		return err
	}
	r, err := raft.NewRaft(rc, s.fsm, logs, stable, snaps, trans)
	if err != nil {
		return fmt.Errorf("server: start raft: %w", err)
	}
	s.raft, s.transport = r, trans
	if cfg.Bootstrap && !existing {
		if err := s.Bootstrap([]api.Server{{ID: cfg.NodeID, RaftAddr: string(trans.LocalAddr())}}); err != nil {
			return fmt.Errorf("server: %w", err)
		}
	}
	return nil
}

// State is the replicated state as this server has applied it.
func (s *Server) State() *state.Store { return s.state }

// Raft is the underlying Raft node, for operator commands and tests.
func (s *Server) Raft() *raft.Raft { return s.raft }

// IsLeader reports whether this server is the Raft leader and has caught
// up with everything earlier leaders committed.
func (s *Server) IsLeader() bool { return s.raft.State() == raft.Leader && s.ready.Load() }

// Leader describes who leads the cluster, as this server knows it.
func (s *Server) Leader() api.LeaderStatus {
	addr, id := s.raft.LeaderWithID()
	return api.LeaderStatus{
		Leader: string(addr), LeaderID: string(id),
		IsSelf: s.IsLeader(), Index: s.state.Snapshot().Index(),
	}
}

// WaitLeader blocks until some server leads the cluster, or ctx ends.
func (s *Server) WaitLeader(ctx context.Context) error {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		if addr, _ := s.raft.LeaderWithID(); addr != "" {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no raft leader: %w", ctx.Err())
		case <-t.C:
		}
	}
}

// apply writes one command through Raft and returns the FSM's response.
func (s *Server) apply(cmd fsm.Command, payload any) (any, error) {
	data, err := fsm.Encode(cmd, payload)
	if err != nil {
		return nil, err
	}
	f := s.raft.Apply(data, s.cfg.ApplyTimeout)
	if err := f.Error(); err != nil {
		return nil, raftErr(cmd.String(), err)
	}
	if err, ok := f.Response().(error); ok {
		return nil, err
	}
	return f.Response(), nil
}

// Shutdown stops the leader loop and Raft, and closes the stores.
func (s *Server) Shutdown() error {
	select {
	case <-s.shutdown:
		return nil
	default:
	}
	close(s.shutdown)
	s.stopLeader()
	err := s.raft.Shutdown().Error()
	s.wg.Wait()
	return errors.Join(err, s.close())
}

func (s *Server) close() error {
	var errs []error
	for i := len(s.closer) - 1; i >= 0; i-- {
		errs = append(errs, s.closer[i]())
	}
	return errors.Join(errs...)
}
