package server

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"time"

	"github.com/hashicorp/raft"

	"github.com/phalanx-sched/phalanx/api"
	"github.com/phalanx-sched/phalanx/scheduler/fsm"
)

// Self is this server's ID and addresses, and whether it belongs to a
// cluster yet.
func (s *Server) Self() api.Server {
	return api.Server{ID: s.cfg.NodeID, RaftAddr: string(s.transport.LocalAddr()), HTTPAddr: s.cfg.HTTPAddr, InCluster: s.HasState()}
}

// HasState reports whether this server already belongs to a cluster (it
// has Raft state, or knows a configuration).
func (s *Server) HasState() bool {
	f := s.raft.GetConfiguration()
	return f.Error() == nil && len(f.Configuration().Servers) > 0
}

// Bootstrap starts a new cluster of exactly these servers. Every server
// of the new cluster may call it with the same list: identical
// configurations are safe. A server that already has state is left alone.
func (s *Server) Bootstrap(servers []api.Server) error {
	if s.HasState() {
		return nil
	}
	sorted := append([]api.Server(nil), servers...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].ID < sorted[j].ID })
	var conf raft.Configuration
	for _, sv := range sorted {
		conf.Servers = append(conf.Servers, raft.Server{ID: raft.ServerID(sv.ID), Address: raft.ServerAddress(sv.RaftAddr)})
	}
	err := s.raft.BootstrapCluster(conf).Error()
	if err != nil && !errors.Is(err, raft.ErrCantBootstrap) {
		return fmt.Errorf("bootstrap: %w", err)
	}
	return nil
}

// LeaderHTTP is the leader's HTTP address, from the replicated servers
// table, or "" when it is not known (no leader, or it has not recorded
// itself yet).
func (s *Server) LeaderHTTP() string {
	_, id := s.raft.LeaderWithID()
	if id == "" {
		return ""
	}
	sv, err := s.state.Snapshot().Server(string(id))
	if err != nil {
		return ""
	}
	return sv.HTTPAddr
}

// AddServer adds a server to the cluster as a voter (on the leader).
func (s *Server) AddServer(ctx context.Context, sv api.Server) error {
	if sv.ID == "" || sv.RaftAddr == "" {
		return fmt.Errorf("a server needs an id and a raft address: %w", api.ErrInvalid)
	}
	if err := s.raft.AddVoter(raft.ServerID(sv.ID), raft.ServerAddress(sv.RaftAddr), 0, s.cfg.ApplyTimeout).Error(); err != nil {
		return raftErr("add voter", err)
	}
	if sv.HTTPAddr != "" {
		_, err := s.apply(fsm.CmdServerAddr, &fsm.ServerAddr{Server: sv})
		return err
	}
	return nil
}

// RemoveServer removes a server from the Raft configuration (on the
// leader); use it for servers that are gone for good.
func (s *Server) RemoveServer(ctx context.Context, id string) error {
	if err := s.raft.RemoveServer(raft.ServerID(id), 0, s.cfg.ApplyTimeout).Error(); err != nil {
		return raftErr("remove server", err)
	}
	return nil
}

// TransferLeadership hands leadership to the server with this ID, or to
// the most up-to-date follower when id is "".
func (s *Server) TransferLeadership(ctx context.Context, id string) error {
	var f raft.Future
	if id == "" {
		f = s.raft.LeadershipTransfer()
	} else {
		sv, err := s.findPeer(id)
		if err != nil {
			return err
		}
		f = s.raft.LeadershipTransferToServer(sv.ID, sv.Address)
	}
	if err := f.Error(); err != nil {
		return raftErr("transfer leadership", err)
	}
	return nil
}

func (s *Server) findPeer(id string) (raft.Server, error) {
	f := s.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return raft.Server{}, err
	}
	for _, sv := range f.Configuration().Servers {
		if string(sv.ID) == id {
			return sv, nil
		}
	}
	return raft.Server{}, fmt.Errorf("server %q is not in the cluster: %w", id, api.ErrNotFound)
}

// Peers lists the Raft configuration with each server's HTTP address.
func (s *Server) Peers() ([]api.Server, error) {
	f := s.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return nil, err
	}
	_, leader := s.raft.LeaderWithID()
	snap := s.state.Snapshot()
	var out []api.Server
	for _, sv := range f.Configuration().Servers {
		p := api.Server{ID: string(sv.ID), RaftAddr: string(sv.Address), Voter: sv.Suffrage == raft.Voter, Leader: sv.ID == leader}
		if known, err := snap.Server(p.ID); err == nil {
			p.HTTPAddr = known.HTTPAddr
		}
		out = append(out, p)
	}
	return out, nil
}

// snapshotHeader starts a saved snapshot file; the FSM's snapshot follows.
type snapshotHeader struct {
	Format string            `json:"format"`
	Meta   raft.SnapshotMeta `json:"meta"`
}

const snapshotFormat = "phalanx-snapshot-v1"

// SaveSnapshot takes a Raft snapshot now and writes it to w.
func (s *Server) SaveSnapshot(w io.Writer) error {
	f := s.raft.Snapshot()
	if err := f.Error(); err != nil {
		return raftErr("snapshot", err)
	}
	meta, rc, err := f.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	if err := json.NewEncoder(w).Encode(snapshotHeader{Format: snapshotFormat, Meta: *meta}); err != nil {
		return err
	}
	_, err = io.Copy(w, rc)
	return err
}

// RestoreSnapshot replaces the cluster's state with a saved snapshot (on
// the leader); every server follows. The snapshot is spooled to a
// temporary file and checked whole first: Raft stops the server if a
// restore fails half way.
func (s *Server) RestoreSnapshot(r io.Reader) error {
	dec := json.NewDecoder(r)
	var h snapshotHeader
	if err := dec.Decode(&h); err != nil || h.Format != snapshotFormat {
		return fmt.Errorf("not a phalanx snapshot (%v): %w", err, api.ErrInvalid)
	}
	// The header line's newline is still in the decoder's buffer.
	body := bufio.NewReader(io.MultiReader(dec.Buffered(), r))
	if b, err := body.Peek(1); err == nil && b[0] == '\n' {
		body.Discard(1)
	}
	f, err := os.CreateTemp("", "phalanx-restore-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	n, err := io.Copy(f, body)
	if err != nil {
		return fmt.Errorf("read snapshot: %w", err)
	}
	if n != h.Meta.Size {
		return fmt.Errorf("snapshot body is %d bytes, its header says %d: %w", n, h.Meta.Size, api.ErrInvalid)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	if err := fsm.CheckSnapshot(f); err != nil {
		return fmt.Errorf("%v: %w", err, api.ErrInvalid)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	if err := s.raft.Restore(&h.Meta, f, time.Minute); err != nil {
		return raftErr("restore", err)
	}
	return nil
}

// recordSelf writes this server's addresses to the replicated servers
// table when they are missing or changed; the leader calls it.
func (s *Server) recordSelf() error {
	self := s.Self()
	self.InCluster = false
	if self.HTTPAddr == "" {
		return nil
	}
	if known, err := s.state.Snapshot().Server(self.ID); err == nil && *known == self {
		return nil
	}
	_, err := s.apply(fsm.CmdServerAddr, &fsm.ServerAddr{Server: self})
	return err
}

// raftErr says what a failed Raft write means for the client: not applied
// (no leader here: retry elsewhere), or outcome unknown (leadership was lost
// with the entry in flight: it may still commit).
func raftErr(what string, err error) error {
	switch {
	case errors.Is(err, raft.ErrLeadershipLost):
		return fmt.Errorf("%s: %v: %w", what, err, api.ErrUnknownOutcome)
	case errors.Is(err, raft.ErrNotLeader), errors.Is(err, raft.ErrEnqueueTimeout), errors.Is(err, raft.ErrRaftShutdown):
		return fmt.Errorf("%s: %v: %w", what, err, api.ErrNotLeader)
	}
	return fmt.Errorf("%s: %w", what, err)
}
