package pipeline

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/phalanx-sched/phalanx/api"
	"github.com/phalanx-sched/phalanx/api/jobspec"
)

// ErrNotTriggered is returned, wrapped with the reason, by Compile for an
// event the pipeline's on field does not accept.
var ErrNotTriggered = errors.New("the pipeline is not triggered by this event")

// Options are what Compile needs from outside the pipeline file.
type Options struct {
	// MaxPriority is the queue's priority limit: no step's job gets more.
	MaxPriority int
	// BasePriority is, for a pull request, the priority of the pipeline
	// file on the branch it targets: a pull request can edit its own
	// .phalanx.yml, but never to run above what the target branch asks
	// for. Nil caps pull requests at jobspec.DefaultPriority. Other events
	// ignore it.
	BasePriority *int
}

// DAG is a compiled run: the steps to submit, in topological order.
type DAG struct {
	PipelineID  string      `json:"pipeline_id,omitempty"`
	Event       string      `json:"event"`
	Queue       string      `json:"queue"`
	Priority    int         `json:"priority"`
	Concurrency Concurrency `json:"concurrency"`
	// Steps run once every step in their Needs has finished (see
	// DAGStep.Status). A step comes after every step it needs; among
	// steps free to run, file order, then matrix order, decides.
	Steps []DAGStep `json:"steps"`
	// Skipped lists the steps the event's when filters dropped, in file
	// order.
	Skipped []Skipped `json:"skipped,omitempty"`
}

// DAGStep is one step of a run (one matrix cell, for a matrix step).
type DAGStep struct {
	// Name is the step's name, or its cell's: "test-go-1-22-os-linux".
	Name string `json:"name"`
	// Step is the name of the step as written.
	Step   string            `json:"step"`
	Matrix map[string]string `json:"matrix,omitempty"`
	// Needs are the DAG steps this one waits for, in DAG order.
	Needs []string `json:"needs,omitempty"`
	// Status says when the step runs once its needs are done: "success"
	// when all of them succeeded, "failure" when some step of the run
	// failed (cleanup steps); both for always.
	Status []string `json:"status"`
	// Retry is how the run retries the step; the job's own restart
	// policy is left at 0 attempts, so that retries can honour
	// OnExitCodes and show as attempts of the step.
	Retry   Retry        `json:"retry"`
	Timeout api.Duration `json:"timeout,omitzero"`
	// Secrets are the names of the secrets to inject; the runner decides
	// whether a pull request gets them.
	Secrets []string    `json:"secrets,omitempty"`
	Job     api.JobSpec `json:"job"`
}

// Skipped is a step that does not run, and why.
type Skipped struct {
	Step   string `json:"step"`
	Reason string `json:"reason"`
}

// Compile turns a pipeline and the event that started it into the DAG of
// jobs to submit. It returns an error wrapping ErrNotTriggered when the
// pipeline's on field does not accept ev.
//
// Steps whose when drops them are left out. A step that needs a dropped
// step still runs, and waits instead for what the dropped step needed, so
// the order of the rest holds.
func Compile(s *Spec, ev Event, opts Options) (*DAG, error) {
	if ok, why := Triggered(s, ev); !ok {
		if !contains(eventKinds, ev.Kind) {
			return nil, fmt.Errorf("pipeline: %s", why)
		}
		return nil, fmt.Errorf("%w: %s", ErrNotTriggered, why)
	}
	d := &DAG{
		PipelineID: ev.PipelineID,
		Event:      ev.Kind,
		Queue:      s.Queue,
		Priority:   priority(s, ev, opts),
		Concurrency: Concurrency{
			Group:            expandGroup(s.Concurrency.Group, eventEnv(ev)),
			CancelInProgress: s.Concurrency.CancelInProgress,
		},
		Steps: []DAGStep{},
	}
	byName := map[string]int{}
	kept := map[string]bool{}
	for i, st := range s.Steps {
		byName[st.Name] = i
		if why := skipReason(st.When, ev); why != "" {
			d.Skipped = append(d.Skipped, Skipped{Step: st.Name, Reason: why})
		} else {
			kept[st.Name] = true
		}
	}
	order, needs, err := sortSteps(s.Steps, byName, kept)
	if err != nil {
		return nil, err
	}
	cellNames := map[string][]string{}
	for _, i := range order {
		st := s.Steps[i]
		var deps []string
		for _, n := range needs[i] {
			deps = append(deps, cellNames[n]...)
		}
		for _, c := range cells(st) {
			cellNames[st.Name] = append(cellNames[st.Name], c.name)
			d.Steps = append(d.Steps, compileStep(s, st, c, deps, ev, d.Priority))
		}
	}
	return d, nil
}

// priority is the spec's priority, capped by the queue's limit and, for a
// pull request, by the target branch's.
func priority(s *Spec, ev Event, opts Options) int {
	p := min(s.Priority, opts.MaxPriority)
	if ev.Kind == EventPullRequest {
		base := jobspec.DefaultPriority
		if opts.BasePriority != nil {
			base = *opts.BasePriority
		}
		p = min(p, base)
	}
	return max(p, 0)
}

// sortSteps orders the kept steps so that each comes after the steps it
// needs, file order breaking ties, and returns each kept step's needs with
// dropped steps replaced by what they needed.
func sortSteps(steps []Step, byName map[string]int, kept map[string]bool) ([]int, map[int][]string, error) {
	resolved := map[string][]string{} // dropped step -> the kept steps it stands for
	var through func(name string, depth int) ([]string, error)
	through = func(name string, depth int) ([]string, error) {
		i, ok := byName[name]
		switch {
		case !ok:
			return nil, fmt.Errorf("pipeline: no step named %q", name)
		case kept[name]:
			return []string{name}, nil
		case depth > len(steps):
			return nil, fmt.Errorf("pipeline: steps form a cycle through %q", name)
		}
		if r, done := resolved[name]; done {
			return r, nil
		}
		var out []string
		for _, n := range steps[i].Needs {
			r, err := through(n, depth+1)
			if err != nil {
				return nil, err
			}
			for _, x := range r {
				if !contains(out, x) {
					out = append(out, x)
				}
			}
		}
		resolved[name] = out
		return out, nil
	}
	needs := map[int][]string{}
	for i, st := range steps {
		if !kept[st.Name] {
			continue
		}
		var deps []string
		for _, n := range st.Needs {
			r, err := through(n, 0)
			if err != nil {
				return nil, nil, err
			}
			for _, x := range r {
				if !contains(deps, x) {
					deps = append(deps, x)
				}
			}
		}
		needs[i] = deps
	}
	var order []int
	placed := map[string]bool{}
	for len(order) < len(needs) {
		next := -1
		for i, st := range steps {
			if kept[st.Name] && !placed[st.Name] && allPlaced(needs[i], placed) {
				next = i
				break
			}
		}
		if next < 0 {
			return nil, nil, errors.New("pipeline: the steps' needs form a cycle")
		}
		placed[steps[next].Name] = true
		order = append(order, next)
	}
	// Needs in DAG order.
	pos := map[string]int{}
	for k, i := range order {
		pos[steps[i].Name] = k
	}
	for i := range needs {
		sort.Slice(needs[i], func(a, b int) bool { return pos[needs[i][a]] < pos[needs[i][b]] })
	}
	return order, needs, nil
}

func allPlaced(names []string, placed map[string]bool) bool {
	for _, n := range names {
		if !placed[n] {
			return false
		}
	}
	return true
}

// compileStep builds one cell of a step.
func compileStep(s *Spec, st Step, c cell, needs []string, ev Event, prio int) DAGStep {
	env := mergeEnv(s.Env, st.Env)
	env = mergeEnv(env, c.vars)
	env = mergeEnv(env, eventEnv(ev))
	env["PHALANX_STEP"] = c.name
	var command []string
	if len(st.Commands) > 0 {
		command = []string{"sh", "-c", "set -e\n" + strings.Join(st.Commands, "\n")}
	}
	labels := map[string]string{"phalanx.step": st.Name}
	if ev.PipelineID != "" {
		labels["phalanx.pipeline"] = ev.PipelineID
	}
	out := DAGStep{
		Name:    c.name,
		Step:    st.Name,
		Matrix:  copyMap(c.vars),
		Needs:   needs,
		Status:  copyList(st.When.Status),
		Retry:   Retry{Attempts: st.Retry.Attempts, OnExitCodes: append([]int(nil), st.Retry.OnExitCodes...)},
		Timeout: api.Duration(st.Timeout),
		Secrets: copyList(st.Secrets),
		Job: api.JobSpec{
			Name:     c.name,
			Labels:   labels,
			Queue:    s.Queue,
			Priority: prio,
			Walltime: api.Duration(st.Timeout),
			Network:  api.NetworkBridge,
			Groups: []api.Group{{
				Name:  "step",
				Count: 1,
				Task: api.Task{
					Image:       st.Image,
					Command:     command,
					Env:         env,
					Resources:   st.Resources,
					KillTimeout: api.Duration(jobspec.DefaultKillTimeout),
				},
			}},
		},
	}
	if len(out.Status) == 0 {
		out.Status = []string{StatusSuccess}
	}
	return out
}

// eventEnv is the PHALANX_* variables every step of a run gets, but
// PHALANX_STEP.
func eventEnv(ev Event) map[string]string {
	pr := ""
	if ev.PullRequest > 0 {
		pr = strconv.Itoa(ev.PullRequest)
	}
	return map[string]string{
		"PHALANX_BRANCH":       ev.Branch,
		"PHALANX_COMMIT":       ev.Commit,
		"PHALANX_EVENT":        ev.Kind,
		"PHALANX_PIPELINE_ID":  ev.PipelineID,
		"PHALANX_PULL_REQUEST": pr,
		"PHALANX_REF":          ev.Ref,
		"PHALANX_REPO":         ev.Repo,
		"PHALANX_TAG":          ev.Tag,
	}
}

// expandGroup replaces ${NAME} in a concurrency group with vars[NAME].
func expandGroup(group string, vars map[string]string) string {
	var b strings.Builder
	for rest := group; ; {
		i := strings.Index(rest, "${")
		end := -1
		if i >= 0 {
			end = strings.IndexByte(rest[i:], '}')
		}
		if end < 0 {
			b.WriteString(rest)
			return b.String()
		}
		b.WriteString(rest[:i])
		b.WriteString(vars[rest[i+2:i+end]])
		rest = rest[i+end+1:]
	}
}
