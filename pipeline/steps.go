package pipeline

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/phalanx-sched/phalanx/api"
	"github.com/phalanx-sched/phalanx/api/jobspec"
	"github.com/phalanx-sched/phalanx/internal/yamlfile"
)

// defaults are the step fields a defaults block sets; nil where it does not.
type defaults struct {
	image       *string
	cpu, memory *int64
	gpus        *int
	env         map[string]string
	timeout     *time.Duration
	retry       *Retry
}

// over returns d with every field that top sets replaced by top's, and
// top's env entries over d's.
func (d defaults) over(top defaults) defaults {
	if top.image != nil {
		d.image = top.image
	}
	if top.cpu != nil {
		d.cpu = top.cpu
	}
	if top.memory != nil {
		d.memory = top.memory
	}
	if top.gpus != nil {
		d.gpus = top.gpus
	}
	if top.timeout != nil {
		d.timeout = top.timeout
	}
	if top.retry != nil {
		d.retry = top.retry
	}
	d.env = mergeEnv(d.env, top.env)
	return d
}

// defaults checks a defaults block.
func (v *validator) defaults(p string, f *defaultsFile) defaults {
	var d defaults
	if f == nil {
		return d
	}
	if f.Image != nil {
		v.image(p+".image", *f.Image)
		d.image = f.Image
	}
	if r := f.Resources; r != nil {
		d.cpu, d.memory, d.gpus = v.resources(p+".resources", r)
	}
	d.env = v.env(p+".env", f.Env)
	if f.Timeout != nil {
		t := v.Duration(p+".timeout", *f.Timeout, 0)
		d.timeout = &t
	}
	if f.Retry != nil {
		r := v.retry(p+".retry", f.Retry)
		d.retry = &r
	}
	return d
}

func (v *validator) resources(p string, r *resourcesFile) (cpu, memory *int64, gpus *int) {
	if r.CPU != nil {
		n := v.Quantity(p+".cpu", *r.CPU, jobspec.ParseCPU)
		cpu = &n
	}
	if r.Memory != nil {
		n := v.Quantity(p+".memory", *r.Memory, jobspec.ParseBytes)
		memory = &n
	}
	if r.GPUs != nil {
		v.Between(p+".gpus", *r.GPUs, 0, jobspec.MaxGPUs)
		gpus = r.GPUs
	}
	return cpu, memory, gpus
}

func (v *validator) retry(p string, f *retryFile) Retry {
	var r Retry
	if f.Attempts != nil {
		r.Attempts = *f.Attempts
		v.Between(p+".attempts", r.Attempts, 0, jobspec.MaxAttempts)
	}
	for i, c := range f.OnExitCodes {
		v.Between(index(p+".on_exit_codes", i), c, 1, 255)
	}
	if len(f.OnExitCodes) > 0 {
		r.OnExitCodes = append([]int(nil), f.OnExitCodes...)
	}
	return r
}

// step checks one step and applies d to it.
func (v *validator) step(p string, f *stepFile, d defaults) Step {
	s := Step{Pos: v.pos(p), Resources: api.Resources{CPUMilli: jobspec.DefaultCPUMilli, MemoryBytes: jobspec.DefaultMemoryBytes}}
	if f.Name == nil || *f.Name == "" {
		v.Errorf(p+".name", "required")
	} else {
		s.Name = *f.Name
		v.name(p+".name", s.Name)
	}
	switch {
	case f.Image != nil:
		s.Image = *f.Image
		v.image(p+".image", s.Image)
	case d.image != nil:
		s.Image = *d.image
	default:
		v.Errorf(p+".image", "required (here or in defaults.image)")
	}
	s.Commands = copyList(f.Commands)
	s.Needs = v.needs(p+".needs", f.Needs)
	s.When = v.when(p+".when", f.When)
	s.Matrix = v.matrix(p+".matrix", f.Matrix)

	cpu, memory, gpus := d.cpu, d.memory, d.gpus
	if f.Resources != nil {
		c, m, g := v.resources(p+".resources", f.Resources)
		cpu, memory, gpus = firstOf(c, cpu), firstOf(m, memory), firstOf(g, gpus)
	}
	if cpu != nil {
		s.Resources.CPUMilli = *cpu
	}
	if memory != nil {
		s.Resources.MemoryBytes = *memory
	}
	if gpus != nil {
		s.Resources.GPUs = *gpus
	}
	switch {
	case f.Timeout != nil:
		s.Timeout = v.Duration(p+".timeout", *f.Timeout, 0)
	case d.timeout != nil:
		s.Timeout = *d.timeout
	}
	switch {
	case f.Retry != nil:
		s.Retry = v.retry(p+".retry", f.Retry)
	case d.retry != nil:
		s.Retry = *d.retry
		s.Retry.OnExitCodes = append([]int(nil), d.retry.OnExitCodes...)
	}
	seen := map[string]bool{}
	for i, name := range f.Secrets {
		q := v.item(p+".secrets", f.Secrets, i)
		v.varName(q, name)
		if seen[name] {
			v.Errorf(q, "secret %s is listed twice", yamlfile.Quote(name))
		}
		seen[name] = true
	}
	s.Secrets = copyList(f.Secrets)
	s.Env = mergeEnv(d.env, v.env(p+".env", f.Env))
	return s
}

func firstOf[T any](a, b *T) *T {
	if a != nil {
		return a
	}
	return b
}

func (v *validator) needs(p string, l stringList) []string {
	seen := map[string]bool{}
	for i, n := range l {
		if seen[n] {
			v.Errorf(v.item(p, l, i), "step %s is listed twice", yamlfile.Quote(n))
		}
		seen[n] = true
	}
	return copyList(l)
}

// Event kinds and statuses a when may name.
var (
	eventKinds = []string{EventPush, EventTag, EventPullRequest, EventManual}
	statuses   = []string{StatusSuccess, StatusFailure}
)

func (v *validator) when(p string, f *whenFile) When {
	w := When{Status: []string{StatusSuccess}}
	if f == nil {
		return w
	}
	w.Branch = v.globs(p+".branch", f.Branch)
	w.Event = v.oneOf(p+".event", f.Event, eventKinds...)
	w.Paths = v.globs(p+".paths", f.Paths)
	if v.has(p+".status") && len(f.Status) == 0 {
		v.Errorf(p+".status", "must list success, failure or both")
	}
	if len(f.Status) > 0 {
		w.Status = dedupe(v.oneOf(p+".status", f.Status, statuses...))
	}
	return w
}

// dedupe returns l in order without repeats.
func dedupe(l []string) []string {
	var out []string
	for _, s := range l {
		if !contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func (v *validator) matrix(p string, m map[string]stringList) map[string][]string {
	if len(m) == 0 {
		if v.has(p) && m != nil {
			v.Errorf(p, "must name at least one variable")
		}
		return nil
	}
	out := map[string][]string{}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		q := yamlfile.Join(p, k)
		v.varName(q, k)
		if len(m[k]) == 0 {
			v.Errorf(q, "must list at least one value")
		}
		out[k] = copyList(m[k])
	}
	if matrixSize(out) > MaxMatrixCells {
		v.Errorf(p, "more than %d cells", MaxMatrixCells)
	}
	return out
}

// mergeEnv returns base with top's entries over it, or nil if both are
// empty.
func mergeEnv(base, top map[string]string) map[string]string {
	if len(base)+len(top) == 0 {
		return nil
	}
	out := make(map[string]string, len(base)+len(top))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range top {
		out[k] = v
	}
	return out
}

// eventVars are the variables a concurrency group may name.
var eventVars = []string{"PHALANX_BRANCH", "PHALANX_COMMIT", "PHALANX_EVENT", "PHALANX_PIPELINE_ID", "PHALANX_PULL_REQUEST", "PHALANX_REF", "PHALANX_REPO", "PHALANX_TAG"}

// checkGroup reports what is wrong with the ${VAR} references in a
// concurrency group, or "".
func checkGroup(group string) string {
	for rest := group; ; {
		i := strings.Index(rest, "${")
		if i < 0 {
			return ""
		}
		end := strings.IndexByte(rest[i:], '}')
		if end < 0 {
			return fmt.Sprintf("unterminated ${ in %s", yamlfile.Quote(group))
		}
		name := rest[i+2 : i+end]
		if !contains(eventVars, name) {
			return fmt.Sprintf("unknown variable ${%s}; a group may use ${%s}", name, strings.Join(eventVars, "}, ${"))
		}
		rest = rest[i+end+1:]
	}
}
