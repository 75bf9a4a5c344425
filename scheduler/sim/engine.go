package sim

import (
	"errors"
	"fmt"
	"time"

	"github.com/phalanx-sched/phalanx/api"
	"github.com/phalanx-sched/phalanx/scheduler"
)

// Epoch is the wall-clock instant of virtual time 0: jobs' SubmitTime and
// allocations' StartTime, and the core's Input.Now, are Epoch plus virtual
// time. It is fixed so that runs replay exactly.
var Epoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// DefaultGrace is the grace period of an evicted task whose spec has no
// kill_timeout (job files always have one; jobspec defaults it to 10s).
const DefaultGrace = 10 * time.Second

// Config says how Run simulates.
type Config struct {
	// Policy is the core's policy (Input.Policy); "" is
	// scheduler.PolicyFair.
	Policy scheduler.Policy
	// Interval is the least virtual time between two scheduling passes,
	// as the leader batches writes into one pass; 0 runs a pass at every
	// instant something changed.
	Interval time.Duration
	// PreemptionGap is passed to the core (Input.PreemptionGap); 0 is
	// the core's default.
	PreemptionGap int
	// MaxViolations caps how many broken invariants are listed; the
	// count of the rest is added as one more line.
	MaxViolations int
}

// DefaultInterval is Config.Interval's default. A pass costs the core
// time in proportion to the nodes, live allocations and waiting jobs (it
// rebuilds their state from its Input: about 4 ms at 5,000 nodes and
// 7,000 allocations on a server core), and a busy trace runs about one
// pass per interval of virtual time, so the interval sets the speed:
// 10s simulates 100,000 jobs on 5,000 nodes (10 virtual hours) in about
// 16 s there, 1s in about 3 minutes. The price is granularity: work waits for
// the next pass, half an interval on average (the leader batches only
// milliseconds). Small clusters can afford --interval 1s.
const DefaultInterval = 10 * time.Second

// DefaultConfig is the configuration `phalanx sim` starts from.
func DefaultConfig() Config {
	return Config{Policy: scheduler.PolicyFair, Interval: DefaultInterval, MaxViolations: 100}
}

// Validate reports a configuration Run refuses.
func (c Config) Validate() error {
	if _, err := scheduler.ParsePolicy(string(c.Policy)); err != nil {
		return err
	}
	switch {
	case c.Interval < 0:
		return fmt.Errorf("interval must be >= 0, got %s", c.Interval)
	case c.MaxViolations < 1:
		return fmt.Errorf("max violations must be >= 1, got %d", c.MaxViolations)
	}
	return nil
}

// ErrNoProgress is wrapped by the violation Run reports when it stops a
// simulation whose preemptions no longer let work finish.
var ErrNoProgress = errors.New("simulation makes no progress")

// member states of a simJob.
const (
	memberMissing uint8 = iota
	memberLive
	memberDone
)

// simJob is one job of the workload as the simulation runs it.
type simJob struct {
	arr *Arrival
	job *api.Job
	// members lists every member in Spec.Groups order; state is each
	// one's memberXxx, missing counts memberMissing.
	members []scheduler.Member
	state   []uint8
	missing int
	// live are the job's live allocations; placed are those of its
	// latest start, for the report.
	live   []*api.Allocation
	placed []*api.Allocation
	// evicted is set while the job's allocations stop after an eviction.
	evicted bool
	// grace is how long an evicted task takes to stop; run is how long
	// each task runs (its duration, or the walltime if shorter).
	grace, run time.Duration
	overrun    bool // the walltime cut the run short
	started    time.Duration
	finished   time.Duration
	hasStarted bool
	done       bool
	pre        int // preemptions
	evictions  []EvictionResult
	reason     string
	// waitPos and runPos are the job's positions in sim.waiting and
	// sim.running, or -1.
	waitPos, runPos int
	// req is the job's request for the core, kept while its members'
	// states do not change.
	req *scheduler.JobRequest
}

// sim is one simulation in progress.
type sim struct {
	cfg      Config
	schedule func(scheduler.Input) scheduler.Plan
	cluster  *Cluster
	nodes    map[string]*nodeLoad
	jobs     []*simJob
	byID     map[string]*simJob
	q        queue
	now      time.Duration
	// waiting holds the jobs with missing members that are not being
	// evicted; running those holding live allocations, and runningJobs
	// their api.Jobs at the same positions (the core's Input.Running).
	waiting, running []*simJob
	runningJobs      []*api.Job
	// live is every allocation that was live at the last pass, by ID,
	// and started those started since, in no order: the next pass merges
	// them (see liveAllocs), since allocation IDs already in order cost
	// the core no sort.
	live, started []*api.Allocation
	// dirty is set when something changed that could let work fit.
	dirty bool
	// touched are the nodes and jobs the current step changed, for the
	// invariant checks.
	touchedNodes map[string]bool
	touchedJobs  map[*simJob]bool
	stats        stats
	violations   []string
	dropped      int
	stopped      bool
}

// Run simulates workload w on cluster c and reports what happened.
func Run(c *Cluster, w *Workload, cfg Config) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return run(c, w, cfg, scheduler.Schedule), nil
}

// run is Run with the core to drive; tests pass broken ones to see the
// checks catch them.
func run(c *Cluster, w *Workload, cfg Config, schedule func(scheduler.Input) scheduler.Plan) *Result {
	if cfg.Policy == "" {
		cfg.Policy = scheduler.PolicyFair
	}
	s := newSim(c, w, cfg)
	s.schedule = schedule
	s.loop()
	return s.result()
}

func newSim(c *Cluster, w *Workload, cfg Config) *sim {
	s := &sim{
		cfg: cfg, cluster: c, nodes: make(map[string]*nodeLoad, len(c.Nodes)),
		byID:         make(map[string]*simJob, len(w.Jobs)),
		touchedNodes: map[string]bool{}, touchedJobs: map[*simJob]bool{},
	}
	for _, n := range c.Nodes {
		s.nodes[n.ID] = &nodeLoad{node: n}
		for _, g := range n.GPUs {
			if g.Healthy {
				s.stats.gpus++
			}
		}
	}
	s.jobs = make([]*simJob, len(w.Jobs))
	for i := range w.Jobs {
		a := &w.Jobs[i]
		j := newJob(a)
		s.jobs[i] = j
		s.byID[a.ID] = j
		s.q.push(&event{at: a.SubmitAt, kind: evSubmit, job: j})
	}
	return s
}

func newJob(a *Arrival) *simJob {
	spec := *a.Spec
	j := &simJob{
		arr: a,
		job: &api.Job{ID: a.ID, Name: a.Name, Queue: spec.Queue, Priority: spec.Priority,
			State: api.JobQueued, Spec: spec, SubmitTime: Epoch.Add(a.SubmitAt)},
		run: a.Duration, waitPos: -1, runPos: -1,
	}
	if w := spec.Walltime.D(); w > 0 && w < j.run {
		j.run, j.overrun = w, true
	}
	for gi, g := range spec.Groups {
		j.grace = max(j.grace, g.Task.KillTimeout.D())
		for i := range g.Count {
			j.members = append(j.members, scheduler.Member{Group: g.Name, GroupIndex: gi, Index: i})
		}
	}
	if j.grace <= 0 {
		j.grace = DefaultGrace
	}
	j.state = make([]uint8, len(j.members))
	j.missing = len(j.members)
	return j
}

// loop runs the simulation to its end: no event is left and no pass is
// due.
func (s *sim) loop() {
	var lastPass time.Duration
	passed := false
	for !s.stopped {
		at, ok := s.q.next()
		due := lastPass + s.cfg.Interval
		if !passed {
			due = 0
		}
		pass := s.dirty && len(s.waiting) > 0
		switch {
		case pass && (!ok || due < at) && due > s.now:
			at, ok = due, true // a pass is due before the next event
		case !ok:
			return
		}
		s.now = at
		for e := s.q.popAt(at); e != nil; e = s.q.popAt(at) {
			s.apply(e)
		}
		if s.dirty && len(s.waiting) > 0 && s.now >= due {
			s.pass()
			lastPass, passed = s.now, true
		}
		if !s.dirty || len(s.waiting) == 0 {
			s.dirty = false
		}
		s.checkStep()
	}
}

// apply applies one event.
func (s *sim) apply(e *event) {
	j := e.job
	switch e.kind {
	case evSubmit:
		s.setWaiting(j)
		s.dirty = true
	case evFinish:
		if !e.alloc.Live() {
			return // stopped by its eviction already
		}
		state := api.AllocSucceeded
		if j.overrun {
			state = api.AllocStopped
			e.alloc.Message = "walltime exceeded"
		}
		s.endAlloc(j, e.alloc, state, true)
		s.settle(j)
	case evRelease:
		if !j.evicted || e.attempt != j.job.Attempt {
			return
		}
		for len(j.live) > 0 {
			s.endAlloc(j, j.live[0], api.AllocStopped, false)
		}
		j.evicted = false
		if j.doneAll() {
			s.settle(j)
			return
		}
		j.pre++
		s.stats.preemptions++
		if j.job.Spec.Gang {
			j.job.Attempt++ // a gang starts over whole
		}
		s.settle(j)
		if s.stats.preemptions > 10*len(s.jobs)+100 {
			s.violate("%v: %d preemptions for %d jobs; stopped at %s", ErrNoProgress, s.stats.preemptions, len(s.jobs), s.now)
			s.stopped = true
		}
	}
}

// endAlloc ends one live allocation of j with the given state and frees
// what it held; done says whether its member's work is over.
func (s *sim) endAlloc(j *simJob, a *api.Allocation, state api.AllocState, done bool) {
	a.State = state
	a.FinishTime = Epoch.Add(s.now)
	for i, l := range j.live {
		if l == a {
			j.live = append(j.live[:i], j.live[i+1:]...)
			break
		}
	}
	pos := j.memberPos(a.Group, a.Index)
	j.req = nil
	if done {
		j.state[pos] = memberDone
	} else {
		j.state[pos] = memberMissing
		j.missing++
	}
	s.nodes[a.NodeID].remove(a)
	s.touchedNodes[a.NodeID] = true
	s.touchedJobs[j] = true
	held := s.now - a.StartTime.Sub(Epoch)
	gs := held.Seconds() * float64(len(a.GPUIndices))
	s.stats.gpuSeconds += gs
	s.stats.queue(j.job.Queue).gpuSeconds += gs
	s.dirty = true
}

// settle puts j in the sets its state calls for, after its allocations
// changed.
func (s *sim) settle(j *simJob) {
	if len(j.live) == 0 {
		s.unsetRunning(j)
	}
	switch {
	case j.doneAll() && len(j.live) == 0:
		j.done = true
		j.finished = s.now
		j.job.State = api.JobSucceeded
		if j.overrun {
			j.job.State = api.JobFailed
		}
		s.unsetWaiting(j)
	case j.missing > 0 && !j.evicted && (!j.job.Spec.Gang || len(j.live) == 0):
		s.setWaiting(j)
	default:
		s.unsetWaiting(j)
	}
	switch {
	case j.done:
	case len(j.live) > 0:
		j.job.State = api.JobRunning
	default:
		j.job.State = api.JobQueued
	}
}

func (j *simJob) doneAll() bool {
	for _, st := range j.state {
		if st != memberDone {
			return false
		}
	}
	return true
}

// memberPos returns the position in j.members of the member index of
// group.
func (j *simJob) memberPos(group string, index int) int {
	pos := 0
	for _, g := range j.job.Spec.Groups {
		if g.Name == group {
			return pos + index
		}
		pos += g.Count
	}
	panic(fmt.Sprintf("sim: job %s has no group %q", j.job.ID, group))
}

func (s *sim) setWaiting(j *simJob) {
	if j.waitPos < 0 {
		j.waitPos = len(s.waiting)
		s.waiting = append(s.waiting, j)
	}
}

func (s *sim) unsetWaiting(j *simJob) {
	s.waiting = removeAt(s.waiting, &j.waitPos, func(o *simJob) *int { return &o.waitPos })
}

func (s *sim) setRunning(j *simJob) {
	if j.runPos < 0 {
		j.runPos = len(s.running)
		s.running = append(s.running, j)
		s.runningJobs = append(s.runningJobs, j.job)
	}
}

func (s *sim) unsetRunning(j *simJob) {
	if i := j.runPos; i >= 0 {
		last := len(s.runningJobs) - 1
		s.runningJobs[i] = s.runningJobs[last]
		s.runningJobs[last] = nil
		s.runningJobs = s.runningJobs[:last]
	}
	s.running = removeAt(s.running, &j.runPos, func(o *simJob) *int { return &o.runPos })
}

// removeAt removes the job at *pos from list by moving the last one into
// its place, and sets *pos to -1.
func removeAt(list []*simJob, pos *int, posOf func(*simJob) *int) []*simJob {
	i := *pos
	if i < 0 {
		return list
	}
	last := len(list) - 1
	if i != last {
		list[i] = list[last]
		*posOf(list[i]) = i
	}
	list[last] = nil
	*pos = -1
	return list[:last]
}

func (s *sim) violate(format string, args ...any) {
	if len(s.violations) >= s.cfg.MaxViolations {
		s.dropped++
		return
	}
	s.violations = append(s.violations, fmt.Sprintf("t=%s: ", s.now)+fmt.Sprintf(format, args...))
}
