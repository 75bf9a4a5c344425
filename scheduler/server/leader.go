package server

import (
	"context"
	"fmt"
	"log"
	"sort"
	"time"

	"github.com/google/uuid"

	"github.com/phalanx-sched/phalanx/api"
	"github.com/phalanx-sched/phalanx/scheduler"
	"github.com/phalanx-sched/phalanx/scheduler/fsm"
	"github.com/phalanx-sched/phalanx/scheduler/state"
)

func (s *Server) monitorLeadership() {
	defer s.wg.Done()
	defer s.stopLeader()
	for {
		select {
		case <-s.shutdown:
			return
		case leader := <-s.raft.LeaderCh():
			// Signals can be dropped: a "true" while a loop runs may mean
			// leadership was lost and won again, so start afresh.
			s.stopLeader()
			if leader {
				s.startLeader()
			}
		}
	}
}

func (s *Server) startLeader() {
	s.leaderMu.Lock()
	defer s.leaderMu.Unlock()
	select {
	case <-s.shutdown:
		return
	default:
	}
	if s.leaderCancel != nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	s.leaderCancel, s.leaderDone = cancel, done
	go func() {
		defer close(done)
		s.leaderLoop(ctx)
	}()
}

func (s *Server) stopLeader() {
	s.ready.Store(false)
	s.hb.reset() // only a leader hears heartbeats; its memory ends with its term
	s.leaderMu.Lock()
	cancel, done := s.leaderCancel, s.leaderDone
	s.leaderCancel, s.leaderDone = nil, nil
	s.leaderMu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// leaderLoop schedules after state changes and checks node heartbeats
// and drain deadlines once a second, until leadership ends.
func (s *Server) leaderLoop(ctx context.Context) {
	// Apply everything earlier leaders committed before deciding anything.
	for {
		err := s.raft.Barrier(s.cfg.ApplyTimeout).Error()
		if err == nil {
			break
		}
		log.Printf("server: leader barrier: %v (retrying)", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
	s.hb.reset()
	s.ready.Store(true)
	var runs compiler
	defer runs.wg.Wait()
	since := s.cfg.Now()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	recorded, queued := false, false
	var checked time.Time // heartbeats, drains and walltimes, last looked at
	ticked := false       // the ticker woke this turn
	var passed uint64     // the SchedIndex the last pass read
	for {
		if !recorded {
			// Followers forward to the address recorded here.
			if err := s.recordSelf(); err != nil && ctx.Err() == nil {
				log.Printf("server: record own address: %v (retrying)", err)
			} else {
				recorded = true
			}
		}
		if !queued {
			if err := s.declareQueues(); err != nil && ctx.Err() == nil {
				log.Printf("server: declare configured queues: %v (retrying)", err)
			} else {
				queued = true
			}
		}
		changed := s.state.Changed()
		// Runs first: the step jobs they submit are placed in this pass.
		if err := s.advanceRuns(ctx, &runs); err != nil && ctx.Err() == nil {
			log.Printf("server: pipeline runs: %v", err)
		}
		// A pass runs when something it reads changed (not for reports
		// that tasks run), and once a second while work waits: the
		// reservations it makes depend on the time too.
		// (A tick is a second since the last one; time since checked may
		// be a little short of one, as it is taken after the pass.)
		timed := ticked || time.Since(checked) >= time.Second
		ticked = false
		var took time.Duration
		if snap := s.state.Snapshot(); timed || snap.SchedIndex() != passed {
			passed = snap.SchedIndex()
			var err error
			if took, err = s.schedule(snap); err != nil && ctx.Err() == nil {
				log.Printf("server: schedule: %v", err)
			}
		}
		// Heartbeats, drain deadlines and walltimes are a matter of time,
		// not of writes: once a second.
		if timed {
			checked = time.Now()
			if err := s.checkWalltimes(); err != nil && ctx.Err() == nil {
				log.Printf("server: walltimes: %v", err)
			}
			if err := s.checkHeartbeats(since); err != nil && ctx.Err() == nil {
				log.Printf("server: heartbeats: %v", err)
			}
			if err := s.checkDrains(); err != nil && ctx.Err() == nil {
				log.Printf("server: drains: %v", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
			// Let a burst of writes settle into one pass. Under load,
			// rest at least as long as the pass computed: a pass reads
			// the whole cluster, and back to back they would leave the
			// leader little time to apply entries and serve requests;
			// this way each pass places what came in meanwhile and
			// passes take at most about half of its time.
			select {
			case <-ctx.Done():
				return
			case <-time.After(max(s.cfg.ScheduleBatch, took)):
			}
		case <-tick.C:
			ticked = true
		}
	}
}

// checkWalltimes stops the jobs that ran past their walltime; the pass
// after the write sees their room coming free.
func (s *Server) checkWalltimes() error {
	snap := s.state.Snapshot()
	now := s.cfg.Now()
	over := scheduler.Overdue(snap.ActiveJobs(), snap.LiveAllocs(), now)
	if len(over) == 0 {
		return nil
	}
	for _, o := range over {
		log.Printf("server: job %s ran past its walltime (%s): stopping it", o.JobID, o.Deadline.Format("15:04:05"))
	}
	_, err := s.apply(fsm.CmdWalltime, &fsm.Walltime{Overruns: over, Time: now})
	return err
}

// schedule runs one placement pass over snap, if any job has members to
// place, and commits its plan. It returns how long the pass computed (0
// if none ran): reading the snapshot, placing and building the entry,
// not waiting for Raft.
func (s *Server) schedule(snap *state.Snapshot) (time.Duration, error) {
	start := time.Now()
	waiting := snap.UnplacedJobs()
	if len(waiting) == 0 {
		return 0, nil
	}
	now := s.cfg.Now()
	in := passInput(snap, waiting, now, s.cfg.PreemptionGap)
	jobs := make(map[string]*api.Job, len(in.Jobs))
	for _, r := range in.Jobs {
		jobs[r.Job.ID] = r.Job
	}
	plan := scheduler.Schedule(in)
	cmd := placeCommand(plan, jobs, now)
	took := time.Since(start)
	s.stats.passes.Add(1)
	s.stats.nanos.Add(int64(took))
	if len(plan.Evictions) > 0 {
		for _, ev := range plan.Evictions {
			log.Printf("server: evicting job %s for %s: %s", ev.JobID, ev.Preemptor, ev.Reason)
		}
		if _, err := s.apply(fsm.CmdEvict, &fsm.Evict{Evictions: plan.Evictions, Time: now}); err != nil {
			return took, err
		}
	}
	if len(cmd.Jobs) == 0 && len(cmd.Pending) == 0 {
		return took, nil
	}
	resp, err := s.apply(fsm.CmdPlace, cmd)
	if err != nil {
		return took, err
	}
	var rejected map[string]string
	if res, ok := resp.(*fsm.PlanResult); ok {
		rejected = res.Rejected
	}
	for _, pj := range cmd.Jobs {
		if why, ok := rejected[pj.JobID]; ok {
			log.Printf("server: plan for job %s rejected at commit: %s", pj.JobID, why)
			continue
		}
		s.stats.placed.Add(int64(len(pj.Members)))
	}
	return took, nil
}

// passInput is what a scheduling pass reads from a snapshot: every node,
// the live allocations, the queues, the unfinished jobs (Running) and,
// in Jobs, the waiting ones (those with Unplaced members) with the
// members to place.
func passInput(snap *state.Snapshot, waiting []*api.Job, now time.Time, gap int) scheduler.Input {
	in := scheduler.Input{
		Nodes: snap.Nodes(), Allocs: snap.LiveAllocs(), Now: now,
		Queues: queues(snap), PreemptionGap: gap,
	}
	// Running jobs matter too: fair share counts what queues hold, and
	// preemption and reservations need their priorities and walltimes.
	in.Running = snap.ActiveJobs()
	// The FSM keeps each job's count of members to place: only those
	// jobs' histories are read.
	for _, j := range waiting {
		if missing := scheduler.Missing(j, snap.JobAllocs(j.ID)); len(missing) > 0 {
			in.Jobs = append(in.Jobs, &scheduler.JobRequest{Job: j, Members: missing})
		}
	}
	return in
}

// placeCommand is the entry that commits a plan's placements, each with
// a new allocation ID, and the pending reasons that changed.
func placeCommand(plan scheduler.Plan, jobs map[string]*api.Job, now time.Time) *fsm.Place {
	cmd := &fsm.Place{Time: now}
	for _, jp := range plan.Jobs {
		pj := fsm.PlaceJob{JobID: jp.JobID, Attempt: jobs[jp.JobID].Attempt, Members: make([]fsm.PlaceMember, len(jp.Placements))}
		for i, p := range jp.Placements {
			pj.Members[i] = fsm.PlaceMember{AllocID: uuid.NewString(), GroupIndex: p.Member.GroupIndex, Index: p.Member.Index,
				NodeID: p.NodeID, GPUIndices: p.GPUIndices, Ports: p.Ports}
		}
		cmd.Jobs = append(cmd.Jobs, pj)
	}
	for _, p := range plan.Pending {
		if jobs[p.JobID].Reason != p.Reason {
			cmd.Pending = append(cmd.Pending, p)
		}
	}
	return cmd
}

// checkHeartbeats marks down every ready node whose last heartbeat is
// older than the TTL. A new leader gives every node a full TTL from the
// moment it took over, so a leader change never fences healthy nodes.
func (s *Server) checkHeartbeats(leaderSince time.Time) error {
	now := s.cfg.Now()
	var down []*api.Node
	for _, n := range s.state.Snapshot().Nodes() {
		last := s.hb.latest(n.ID, n.LastHeartbeat)
		if last.Before(leaderSince) {
			last = leaderSince
		}
		if n.Status == api.NodeReady && now.Sub(last) > s.cfg.HeartbeatTTL {
			down = append(down, n)
		}
	}
	sort.Slice(down, func(i, j int) bool { return down[i].ID < down[j].ID })
	for _, n := range down {
		// The fence in NodeDown compares the replicated heartbeat, which
		// the leader writes only now and then: look at its memory once
		// more, so a beat that came in meanwhile still saves the node.
		last := s.hb.latest(n.ID, n.LastHeartbeat)
		if now.Sub(last) <= s.cfg.HeartbeatTTL {
			continue
		}
		reason := fmt.Sprintf("no heartbeat for %v", now.Sub(last).Round(time.Second))
		if _, err := s.apply(fsm.CmdNodeDown, &fsm.NodeDown{NodeID: n.ID, Reason: reason, Time: now, LastHeartbeat: n.LastHeartbeat}); err != nil {
			return err
		}
	}
	return nil
}

// checkDrains moves what still runs on a draining node elsewhere once its
// drain deadline has passed.
func (s *Server) checkDrains() error {
	now := s.cfg.Now()
	snap := s.state.Snapshot()
	for _, n := range snap.Nodes() {
		d := n.Drain
		if d == nil || d.Deadline.IsZero() || now.Before(d.Deadline) || len(snap.LiveNodeAllocs(n.ID)) == 0 {
			continue
		}
		log.Printf("server: drain deadline of node %s passed: moving its work", n.Name)
		if _, err := s.apply(fsm.CmdNodeMigrate, &fsm.NodeMigrate{NodeID: n.ID, Time: now}); err != nil {
			return err
		}
	}
	return nil
}
