package server

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/phalanx-sched/phalanx/api"
	"github.com/phalanx-sched/phalanx/api/jobspec"
	"github.com/phalanx-sched/phalanx/pipeline"
	"github.com/phalanx-sched/phalanx/pipeline/gitsource"
	"github.com/phalanx-sched/phalanx/scheduler"
	"github.com/phalanx-sched/phalanx/scheduler/fsm"
	"github.com/phalanx-sched/phalanx/scheduler/state"
)

// PipelineFile is the file a repo's pipeline lives in, at its root.
const PipelineFile = ".phalanx.yml"

// compiler reads and compiles the pipeline files of new runs in the
// background, at most one goroutine per run. What it knows is only which
// runs it is working on: the runs to compile are those the replicated
// state has not marked compiled, so a new leader picks them up.
type compiler struct {
	mu      sync.Mutex
	running map[string]bool
	wg      sync.WaitGroup
}

// advanceRuns is the leader's run controller pass: it starts reading the
// pipeline file of every run not yet compiled, and applies decideRun's
// decisions for the others.
func (s *Server) advanceRuns(ctx context.Context, c *compiler) error {
	snap := s.state.Snapshot()
	active := snap.ActiveRuns()
	if len(active) == 0 {
		return nil
	}
	now := s.cfg.Now()
	var usage map[string]scheduler.Usage
	queues := map[string]*api.Queue{}
	for _, q := range snap.Queues() {
		queues[q.Name] = q
	}
	// One run's failure to advance is logged and the others go on: a run
	// whose decision keeps failing must not hold up the runs after it.
	var errs []error
	for _, r := range active {
		repo, _ := snap.Repo(r.Repo)
		if !r.Compiled {
			if repo == nil {
				if err := s.compiled(fsm.RunCompile{RunID: r.ID, State: api.RunError, Message: "repo " + r.Repo + " was removed", Time: now}); err != nil {
					errs = append(errs, fmt.Errorf("run %s: %w", r.ID, err))
				}
				continue
			}
			c.start(ctx, s, r, repo)
			continue
		}
		if r.State == api.RunQueued && usage == nil {
			usage = nodeUsage(snap)
		}
		in := runInputFor(snap, r, repo, usage, active, now)
		in.Queues = queues
		d := decideRun(in)
		for _, cancel := range d.Cancel {
			if _, err := s.apply(fsm.CmdRunCancel, &cancel); err != nil && !errors.Is(err, api.ErrConflict) {
				errs = append(errs, fmt.Errorf("run %s: cancel run %s: %w", r.ID, cancel.RunID, err))
			}
		}
		if d.Advance != nil {
			if _, err := s.apply(fsm.CmdRunAdvance, d.Advance); err != nil {
				errs = append(errs, fmt.Errorf("run %s: %w", r.ID, err))
			}
		}
		if ctx.Err() != nil || !s.IsLeader() {
			break
		}
	}
	return errors.Join(errs...)
}

func nodeUsage(snap *state.Snapshot) map[string]scheduler.Usage {
	byNode := map[string][]*api.Allocation{}
	for _, a := range snap.LiveAllocs() {
		byNode[a.NodeID] = append(byNode[a.NodeID], a)
	}
	out := map[string]scheduler.Usage{}
	for id, as := range byNode {
		out[id] = scheduler.NodeUsage(id, as)
	}
	return out
}

func runInputFor(snap *state.Snapshot, r *api.Run, repo *api.Repo, usage map[string]scheduler.Usage, active []*api.Run, now time.Time) runInput {
	in := runInput{Run: r, Repo: repo, Jobs: map[string]*api.Job{}, Allocs: map[string][]*api.Allocation{},
		Nodes: snap.Nodes(), Usage: usage, Active: active, Now: now, Secrets: map[string]string{}}
	if repo != nil {
		for _, sec := range snap.RepoSecrets(repo.Name) {
			in.Secrets[sec.Name] = sec.Value
		}
	}
	for _, st := range r.Steps {
		if id := st.JobID(); id != "" {
			if j, err := snap.Job(id); err == nil {
				in.Jobs[id] = j
				in.Allocs[id] = snap.JobAllocs(id)
			}
		}
	}
	return in
}

func (s *Server) compiled(c fsm.RunCompile) error {
	_, err := s.apply(fsm.CmdRunCompile, &c)
	return err
}

// start compiles run in the background unless that is under way.
func (c *compiler) start(ctx context.Context, s *Server, run *api.Run, repo *api.Repo) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.running == nil {
		c.running = map[string]bool{}
	}
	if c.running[run.ID] {
		return
	}
	c.running[run.ID] = true
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer func() {
			c.mu.Lock()
			delete(c.running, run.ID)
			c.mu.Unlock()
		}()
		cmd := s.compileRun(ctx, run, repo)
		if err := s.compiled(cmd); err != nil && ctx.Err() == nil {
			log.Printf("server: run %s: record its pipeline: %v", run.ID, err)
		}
	}()
}

// compileRun fetches the run's commit, reads its pipeline file and
// includes, and compiles them for the run's event. Every failure becomes
// a run in state error whose message says what went wrong, with file,
// line and field for a bad pipeline file.
func (s *Server) compileRun(ctx context.Context, run *api.Run, repo *api.Repo) fsm.RunCompile {
	c := fsm.RunCompile{RunID: run.ID, State: api.RunQueued}
	fail := func(format string, args ...any) fsm.RunCompile {
		c.State, c.Message, c.Time = api.RunError, fmt.Sprintf(format, args...), s.cfg.Now()
		return c
	}
	auth := gitsource.Auth{Token: repo.Token}
	var opts []gitsource.Option
	if run.Ref != "" {
		opts = append(opts, gitsource.WithRef(run.Ref))
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.FetchTimeout)
	defer cancel()
	src, err := gitsource.Open(ctx, repo.URL, auth, run.Commit, opts...)
	if err != nil {
		return fail("fetch commit %s of %s: %v", short(run.Commit), repo.URL, err)
	}
	data, err := src.ReadFile(PipelineFile)
	if errors.Is(err, os.ErrNotExist) {
		return fail("%s: no such file at commit %s", PipelineFile, short(run.Commit))
	}
	if err != nil {
		return fail("%s: %v", PipelineFile, err)
	}
	spec, err := pipeline.ParseWithIncludes(PipelineFile, data, src.ReadFile)
	if err != nil {
		return fail("%v", err)
	}
	ev := pipeline.Event{Kind: run.Event, Repo: run.Repo, Ref: run.Ref, Branch: run.Branch, Tag: run.Tag,
		Commit: run.Commit, PullRequest: run.PullRequest, PipelineID: run.ID}
	if run.Event == pipeline.EventPush && strings.Trim(run.Before, "0") != "" {
		// Unknown (nil) when the diff cannot be had: path filters then
		// accept the push.
		if files, err := gitsource.ChangedFiles(ctx, repo.URL, auth, run.Before, run.Commit, opts...); err == nil {
			ev.ChangedFiles = files
		} else {
			log.Printf("server: run %s: changed files unknown: %v", run.ID, err)
		}
	}
	// The steps run in the repo's queue when it names one, else in the
	// pipeline's; that queue's max_priority caps them. A pull request
	// brings its own pipeline file, so it gets the queue and, at most,
	// the priority of its target branch's file.
	queue := spec.Queue
	copts := pipeline.Options{}
	if run.Event == pipeline.EventPullRequest {
		if base, err := s.targetSpec(ctx, repo, run.Branch); err == nil {
			queue, copts.BasePriority = base.Queue, &base.Priority
		} else {
			log.Printf("server: run %s: pull request: the target branch's pipeline file: %v; the run gets the pull request's queue and at most priority %d", run.ID, err, jobspec.DefaultPriority)
		}
	}
	if repo.Queue != "" {
		queue = repo.Queue
	}
	maxPriority := jobspec.MaxPriority
	if q, err := s.state.Snapshot().Queue(queue); err == nil {
		if q.MaxPriority != nil {
			maxPriority = *q.MaxPriority
		}
	} else if queue != api.DefaultQueue && queue != "" {
		return fail("%s: queue: unknown queue %q (phalanx queue list shows the queues)", PipelineFile, queue)
	}
	copts.MaxPriority = maxPriority
	dag, err := pipeline.Compile(spec, ev, copts)
	if errors.Is(err, pipeline.ErrNotTriggered) {
		c.State, c.Message, c.Time = api.RunSkipped, err.Error(), s.cfg.Now()
		return c
	}
	if err != nil {
		return fail("%s: %v", PipelineFile, err)
	}
	c.Queue, c.ConcurrencyGroup, c.CancelInProgress = queue, dag.Concurrency.Group, dag.Concurrency.CancelInProgress
	c.Steps = runSteps(dag)
	for _, sk := range dag.Skipped {
		c.Dropped = append(c.Dropped, api.DroppedStep{Step: sk.Step, Reason: sk.Reason})
	}
	c.Message = "waiting to start"
	if len(c.Steps) == 0 {
		c.State, c.Message = api.RunSkipped, "every step was left out by its when filter"
	}
	c.Time = s.cfg.Now()
	return c
}

// targetSpec reads the pipeline file at the tip of branch, a pull
// request's target.
func (s *Server) targetSpec(ctx context.Context, repo *api.Repo, branch string) (*pipeline.Spec, error) {
	if branch == "" {
		return nil, errors.New("the run names no target branch")
	}
	auth := gitsource.Auth{Token: repo.Token}
	ref := "refs/heads/" + branch
	commit, err := gitsource.ResolveRef(ctx, repo.URL, auth, ref)
	if err != nil {
		return nil, err
	}
	src, err := gitsource.Open(ctx, repo.URL, auth, commit, gitsource.WithRef(ref))
	if err != nil {
		return nil, err
	}
	data, err := src.ReadFile(PipelineFile)
	if err != nil {
		return nil, err
	}
	return pipeline.ParseWithIncludes(PipelineFile, data, src.ReadFile)
}

// runSteps turns a compiled DAG's steps into a run's.
func runSteps(dag *pipeline.DAG) []api.RunStep {
	out := make([]api.RunStep, 0, len(dag.Steps))
	for _, st := range dag.Steps {
		out = append(out, api.RunStep{
			Name: st.Name, Needs: st.Needs, When: st.Status,
			RetryAttempts: st.Retry.Attempts, RetryOnExitCodes: st.Retry.OnExitCodes,
			Secrets: st.Secrets, Job: st.Job, State: api.RunQueued, Reason: "waiting for the run to start",
		})
	}
	return out
}

func short(commit string) string {
	if len(commit) > 12 {
		return commit[:12]
	}
	return commit
}
