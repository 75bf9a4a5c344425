package server

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/phalanx-sched/phalanx/api"
	"github.com/phalanx-sched/phalanx/scheduler/fsm"
)

// These methods are what the HTTP API calls. Writes go through Raft and
// need this server to be the leader; reads serve this server's state.

// SubmitJob registers a validated job spec as a new queued job. With an
// idempotency key that an earlier submission used, it returns that
// submission's job and registers nothing, so a client whose request timed
// out can retry safely. Submissions that arrive together share one Raft
// entry.
func (s *Server) SubmitJob(ctx context.Context, spec *api.JobSpec, key string) (*api.JobStatus, error) {
	if key != "" {
		if j, err := s.state.Snapshot().JobByIdempotencyKey(key); err == nil {
			return s.Job(j.ID)
		}
	}
	job := api.Job{
		ID: newJobID(spec.Name), Name: spec.Name, Queue: spec.Queue, Priority: spec.Priority,
		Spec: *spec, SubmitTime: s.cfg.Now(), IdempotencyKey: key,
	}
	if err := fsm.CheckQueue(s.state.Snapshot(), &job); err != nil {
		return nil, err
	}
	res, err := s.submits.do([]api.Job{job}, func(jobs []api.Job) ([]fsm.JobRegistered, error) {
		resp, err := s.apply(fsm.CmdJobsRegister, &fsm.JobsRegister{Jobs: jobs})
		if err != nil {
			return nil, err
		}
		return resp.(*fsm.JobsRegistered).Jobs, nil
	})
	if err != nil {
		return nil, err
	}
	if err := res[0].Err; err != nil {
		return nil, err
	}
	return s.Job(res[0].JobID)
}

// newJobID returns the job's name and 50 random bits, e.g.
// "hello-3kq7m2c9xa".
func newJobID(name string) string {
	var b [7]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	enc := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:])
	return name + "-" + strings.ToLower(enc[:10])
}

// CancelJob cancels a job that has not finished.
func (s *Server) CancelJob(ctx context.Context, id string) (*api.JobStatus, error) {
	job, err := s.state.Snapshot().LookupJob(id)
	if err != nil {
		return nil, err
	}
	if _, err := s.apply(fsm.CmdJobCancel, &fsm.JobCancel{JobID: job.ID, Time: s.cfg.Now()}); err != nil {
		return nil, err
	}
	return s.Job(job.ID)
}

// Job returns one job's status, by ID or unique ID prefix.
func (s *Server) Job(id string) (*api.JobStatus, error) {
	snap := s.state.Snapshot()
	job, err := snap.LookupJob(id)
	if err != nil {
		return nil, err
	}
	return api.NewJobStatus(job, snap.JobAllocs(job.ID)), nil
}

// Jobs returns every job's status, oldest first.
func (s *Server) Jobs() []*api.JobStatus {
	snap := s.state.Snapshot()
	var out []*api.JobStatus
	for _, j := range snap.Jobs() {
		out = append(out, api.NewJobStatus(j, snap.JobAllocs(j.ID)))
	}
	return out
}

// Nodes returns every registered node.
func (s *Server) Nodes() []*api.Node {
	nodes := s.state.Snapshot().Nodes()
	for i, n := range nodes {
		nodes[i] = s.withHeartbeat(n)
	}
	return nodes
}

// Node returns one node, by ID, name or ID prefix, with its allocations
// that hold resources.
func (s *Server) Node(id string) (*api.NodeDetail, error) {
	snap := s.state.Snapshot()
	n, err := snap.LookupNode(id)
	if err != nil {
		return nil, err
	}
	return &api.NodeDetail{Node: s.withHeartbeat(n), Allocations: snap.LiveNodeAllocs(n.ID)}, nil
}

// SetDrain starts draining a node (no new work; what still runs after
// deadline, if > 0, moves elsewhere) or, with drain false, makes it
// eligible again.
func (s *Server) SetDrain(ctx context.Context, nodeID string, drain bool, deadline time.Duration) (*api.Node, error) {
	n, err := s.state.Snapshot().LookupNode(nodeID)
	if err != nil {
		return nil, err
	}
	cmd := fsm.NodeDrain{NodeID: n.ID}
	if drain {
		now := s.cfg.Now()
		cmd.Drain = &api.Drain{Since: now}
		if deadline > 0 {
			cmd.Drain.Deadline = now.Add(deadline)
		}
	}
	if _, err := s.apply(fsm.CmdNodeDrain, &cmd); err != nil {
		return nil, err
	}
	return s.state.Snapshot().Node(n.ID)
}

// SetGPUHealth records that a node's GPU failed (from its agent) or was
// recovered (by an operator). gpu is a UUID or the GPU's index.
func (s *Server) SetGPUHealth(ctx context.Context, nodeID, gpu string, h api.GPUHealth) error {
	n, err := s.state.Snapshot().LookupNode(nodeID)
	if err != nil {
		return err
	}
	h.UUID = ""
	for _, g := range n.GPUs {
		if g.UUID == gpu || fmt.Sprint(g.Index) == gpu {
			h.UUID = g.UUID
		}
	}
	if h.UUID == "" {
		return fmt.Errorf("node %s has no GPU %q: %w", n.Name, gpu, api.ErrNotFound)
	}
	_, err = s.apply(fsm.CmdGPUHealth, &fsm.GPUHealth{NodeID: n.ID, Health: h, Time: s.cfg.Now()})
	return err
}

// RegisterNode adds or refreshes an executor node.
func (s *Server) RegisterNode(ctx context.Context, n *api.Node) error {
	if n.ID == "" || n.Name == "" {
		return fmt.Errorf("node needs an id and a name: %w", api.ErrInvalid)
	}
	node := *n
	node.LastHeartbeat = s.cfg.Now()
	_, err := s.apply(fsm.CmdNodeRegister, &fsm.NodeRegister{Node: node})
	return err
}

// Heartbeat records that a node is alive.

// NodeAllocations blocks until the node's allocations change past index,
// or ctx ends, and returns those an executor must act on.
func (s *Server) NodeAllocations(ctx context.Context, nodeID string, index uint64) (*api.NodeAllocations, error) {
	if _, err := s.state.Snapshot().Node(nodeID); err != nil {
		return nil, err
	}
	allocs, idx, err := s.state.NodeAllocs(ctx, nodeID, index)
	if err != nil {
		return nil, err
	}
	if allocs == nil {
		allocs = []*api.Allocation{}
	}
	return &api.NodeAllocations{Index: idx, Allocations: allocs}, nil
}

// UpdateAllocations records executors' reports.
func (s *Server) UpdateAllocations(ctx context.Context, updates []api.AllocUpdate) error {
	for _, u := range updates {
		if u.ID == "" || u.State == "" {
			return fmt.Errorf("allocation update needs id and state: %w", api.ErrInvalid)
		}
		if u.Time.IsZero() {
			return fmt.Errorf("allocation update %s has no time: %w", u.ID, api.ErrInvalid)
		}
	}
	_, err := s.updates.do(updates, func(all []api.AllocUpdate) ([]struct{}, error) {
		_, err := s.apply(fsm.CmdReport, &fsm.AllocUpdate{Updates: all})
		return nil, err
	})
	return err
}

// LogTarget finds the allocation whose logs a client asked for (allocID,
// or by default the newest allocation of the job's rank 0) and the node
// that keeps them. With wait set it blocks until the job has one.
func (s *Server) LogTarget(ctx context.Context, jobID, allocID string, wait bool) (*api.Allocation, *api.Node, error) {
	for {
		changed := s.state.Changed()
		snap := s.state.Snapshot()
		job, err := snap.LookupJob(jobID)
		if err != nil {
			return nil, nil, err
		}
		var target *api.Allocation
		for _, a := range snap.JobAllocs(job.ID) {
			if allocID != "" {
				if a.ID == allocID || (len(allocID) >= 4 && strings.HasPrefix(a.ID, allocID)) {
					target = a
					break
				}
			} else if a.Group == job.Spec.Groups[0].Name && a.Index == 0 &&
				(target == nil || a.CreateIndex > target.CreateIndex) {
				target = a
			}
		}
		if target != nil {
			node, err := snap.Node(target.NodeID)
			if err != nil {
				return nil, nil, fmt.Errorf("allocation %s: its node is unknown: %w", target.ID, err)
			}
			return target, node, nil
		}
		if allocID != "" {
			return nil, nil, fmt.Errorf("job %s has no allocation %q: %w", job.ID, allocID, api.ErrNotFound)
		}
		if !wait || job.State.Terminal() {
			return nil, nil, fmt.Errorf("job %s has no allocation yet (%s: %s): %w", job.ID, job.State, job.Reason, api.ErrNotFound)
		}
		select {
		case <-ctx.Done():
			return nil, nil, errors.Join(ctx.Err(), api.ErrNotFound)
		case <-changed:
		}
	}
}
