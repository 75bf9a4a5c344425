package pipeline

import (
	"path"
	"reflect"
	"sort"
	"strings"

	"github.com/phalanx-sched/phalanx/api/jobspec"
	"github.com/phalanx-sched/phalanx/internal/yamlfile"
)

// MaxIncludes bounds the files one pipeline may include, all depths counted.
const MaxIncludes = 64

const (
	wantPipeline = "want a pipeline: version, on, steps"
	wantInclude  = "want steps or defaults to include"
)

// Parse reads a pipeline file. It is ParseWithIncludes with no way to read
// other files: a file that uses include gets an error there.
func Parse(filename string, data []byte) (*Spec, error) {
	return ParseWithIncludes(filename, data, nil)
}

// ParseWithIncludes reads the pipeline file filename, whose bytes are data,
// and the files it includes, which it gets from read. Include paths are
// relative to the directory of filename (the repository's root); read is
// called with that directory joined to the cleaned include path, and that
// name is the one errors in the included file carry.
//
// When anything is wrong, it returns nil and a jobspec.Errors listing every
// problem in every file, each "file:line: field.path: message", sorted by
// file (in the order read) and line. Line is 0 for a problem with a whole
// file.
func ParseWithIncludes(filename string, data []byte, read func(path string) ([]byte, error)) (*Spec, error) {
	p := &parser{read: read, root: path.Dir(filename), order: map[string]int{filename: 0}}
	var f pipelineFile
	v := p.decode(filename, data, &f, wantPipeline)
	if v == nil {
		return nil, p.sorted()
	}
	spec := v.top(&f)
	d := p.layer(v, f.Include, f.Defaults, f.Steps, []string{filename})
	spec.Includes = p.included
	for _, r := range p.steps {
		spec.Steps = append(spec.Steps, r.v.step(r.path, r.file, d))
	}
	p.checkSteps(v, spec.Steps)
	if len(p.errs) > 0 {
		return nil, p.sorted()
	}
	return spec, nil
}

// parser holds what reading one pipeline and its includes has gathered.
type parser struct {
	read     func(string) ([]byte, error)
	root     string
	errs     jobspec.Errors
	order    map[string]int // file -> the order it was read in
	included []string
	steps    []rawStep
}

// rawStep is a step as decoded, with the file it is in.
type rawStep struct {
	v    *validator
	path string
	file *stepFile
}

// decodeOptions say how a pipeline file, or a file it includes, is read.
// A key set twice stops the checking of its file: yaml.v3 decodes nothing of
// that mapping, and the steps and triggers below it would be reported
// missing.
var decodeOptions = yamlfile.Options{
	Unit:               "pipeline",
	ScalarList:         reflect.TypeOf(stringList(nil)),
	StopAtDuplicateKey: true,
}

// decode reads one file into out, a pointer to its shape type. It returns
// nil when the file cannot be validated further.
func (p *parser) decode(name string, data []byte, out any, want string) *validator {
	opts := decodeOptions
	opts.Want = want
	fields, problems := yamlfile.Decode(name, data, out, opts)
	for _, e := range problems {
		p.report(e)
	}
	if fields == nil {
		return nil
	}
	return &validator{yamlfile.Checker{Fields: fields, Report: p.report}}
}

// report adds a problem found in one of the files.
func (p *parser) report(e yamlfile.Problem) {
	p.errs = append(p.errs, jobspec.Error{File: e.File, Line: e.Line, Field: e.Field, Msg: e.Msg})
}

// layer gathers the steps of one file and of the files it includes, and
// returns the defaults they make: the included files' (a later include over
// an earlier one), with the file's own over them. stack is the chain of
// files that led here, this one last.
func (p *parser) layer(v *validator, include stringList, df *defaultsFile, steps []*stepFile, stack []string) defaults {
	own := v.defaults("defaults", df)
	for i, s := range steps {
		if s == nil {
			s = &stepFile{}
		}
		p.steps = append(p.steps, rawStep{v: v, path: index("steps", i), file: s})
	}
	var inherited defaults
	for i, inc := range include {
		q := v.item("include", include, i)
		name, ok := p.resolve(v, q, inc, stack)
		if !ok {
			continue
		}
		data, err := p.read(name)
		if err != nil {
			v.Errorf(q, "cannot read %s: %v", yamlfile.Quote(name), err)
			continue
		}
		var f includeFile
		iv := p.decode(name, data, &f, wantInclude)
		if iv == nil {
			continue
		}
		inherited = inherited.over(p.layer(iv, f.Include, f.Defaults, f.Steps, append(stack[:len(stack):len(stack)], name)))
	}
	return inherited.over(own)
}

// resolve checks an include path and returns the name of the file to read.
func (p *parser) resolve(v *validator, field, inc string, stack []string) (string, bool) {
	clean := path.Clean(inc)
	switch {
	case inc == "":
		v.Errorf(field, "must not be empty")
		return "", false
	case path.IsAbs(inc) || clean == ".." || strings.HasPrefix(clean, "../"):
		v.Errorf(field, "must be a path inside the repository, relative to its root, got %s", yamlfile.Quote(inc))
		return "", false
	case p.read == nil:
		v.Errorf(field, "cannot include %s: included files are not read here", yamlfile.Quote(inc))
		return "", false
	}
	name := path.Join(p.root, clean)
	switch {
	case contains(stack, name):
		v.Errorf(field, "include cycle: %s -> %s", strings.Join(stack, " -> "), name)
	case len(stack) > MaxIncludeDepth:
		v.Errorf(field, "includes nested more than %d deep: %s -> %s", MaxIncludeDepth, strings.Join(stack, " -> "), name)
	case p.order[name] > 0:
		v.Errorf(field, "%s is included twice", yamlfile.Quote(name))
	case len(p.included) >= MaxIncludes:
		v.Errorf(field, "more than %d included files", MaxIncludes)
	default:
		p.included = append(p.included, name)
		p.order[name] = len(p.included)
		return name, true
	}
	return "", false
}

// sorted returns the errors ordered by file, in the order the files were
// read, then by line.
func (p *parser) sorted() jobspec.Errors {
	sort.SliceStable(p.errs, func(i, j int) bool {
		a, b := p.errs[i], p.errs[j]
		if a.File != b.File {
			return p.order[a.File] < p.order[b.File]
		}
		return a.Line < b.Line
	})
	return p.errs
}

// top checks the fields of the pipeline file other than steps, defaults
// and include.
func (v *validator) top(f *pipelineFile) *Spec {
	s := &Spec{File: v.File, Queue: jobspec.DefaultQueue, Priority: jobspec.DefaultPriority, lines: v.Lines}
	switch {
	case f.Version == nil:
		v.Errorf("version", "required, must be %d", Version)
	case *f.Version != Version:
		v.Errorf("version", "must be %d, got %d", Version, *f.Version)
	default:
		s.Version = Version
	}
	s.On = v.on(f.On)
	if f.Queue != nil {
		s.Queue = *f.Queue
		v.name("queue", s.Queue)
	}
	if f.Priority != nil {
		s.Priority = *f.Priority
		v.Between("priority", s.Priority, 0, jobspec.MaxPriority)
	}
	s.Env = v.env("env", f.Env)
	if c := f.Concurrency; c != nil {
		if c.Group != nil {
			s.Concurrency.Group = *c.Group
			if msg := checkGroup(*c.Group); msg != "" {
				v.Errorf("concurrency.group", "%s", msg)
			}
		}
		if c.CancelInProgress != nil {
			s.Concurrency.CancelInProgress = *c.CancelInProgress
		}
	}
	return s
}

// on checks the triggers. A file without on (or with on: null) fires on
// every event; a trigger named with no value fires on every event of its
// kind.
func (v *validator) on(f *onFile) Triggers {
	if f == nil {
		return Triggers{Push: &PushTrigger{}, Tag: &TagTrigger{}, PullRequest: &PullRequestTrigger{}}
	}
	var t Triggers
	if v.has("on.push") {
		t.Push = &PushTrigger{}
		if f.Push != nil {
			t.Push.Branches = v.globs("on.push.branches", f.Push.Branches)
			t.Push.Paths = v.globs("on.push.paths", f.Push.Paths)
		}
	}
	if v.has("on.tag") {
		t.Tag = &TagTrigger{Tags: v.globs("on.tag", f.Tag)}
	}
	if v.has("on.pull_request") {
		t.PullRequest = &PullRequestTrigger{}
		if f.PullRequest != nil {
			t.PullRequest.Branches = v.globs("on.pull_request.branches", f.PullRequest.Branches)
		}
	}
	return t
}
