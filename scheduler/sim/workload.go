package sim

import (
	"bytes"
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/phalanx-sched/phalanx/api"
	"github.com/phalanx-sched/phalanx/api/jobspec"
	"github.com/phalanx-sched/phalanx/internal/yamlfile"
)

// MaxJobs bounds the jobs one workload makes, repeats included.
const MaxJobs = 1_000_000

// Workload is a parsed workload file: the jobs to submit, in order of
// arrival.
type Workload struct {
	// Jobs are sorted by SubmitAt; jobs that arrive at the same instant
	// keep their order in the file. Their IDs sort in the same order.
	Jobs []Arrival
}

// Arrival is one job of the workload.
type Arrival struct {
	// ID is unique in the workload: "j" and the job's position, padded
	// so that IDs sort in order of arrival.
	ID string
	// Name is the job's metadata.name, with "-K" added for the Kth
	// repeat of an entry with repeat.count.
	Name string
	// SubmitAt is when the job is submitted, from the start of the
	// simulation.
	SubmitAt time.Duration
	// Duration is how long each task of the job really runs; the job's
	// walltime, if shorter, cuts it short.
	Duration time.Duration
	Spec     *api.JobSpec
	// Where the job's queue is named, for problems found with it later.
	file      string
	queueLine int
	field     string
}

// The shape of the workload file. The job is a job file of its own, which
// jobspec.Parse checks; here it is only a mapping.
type workloadFile struct {
	Jobs []*arrivalFile `yaml:"jobs"`
}

type arrivalFile struct {
	SubmitAt *string     `yaml:"submit_at"`
	Duration *string     `yaml:"duration"`
	Repeat   *repeatFile `yaml:"repeat"`
	Job      *opaque     `yaml:"job"`
}

type repeatFile struct {
	Count *int    `yaml:"count"`
	Every *string `yaml:"every"`
}

// opaque is a mapping whose contents another parser checks.
type opaque struct{}

var workloadOptions = yamlfile.Options{
	Want:    "want a workload: jobs, each with submit_at, duration and job",
	Unit:    "workload",
	MapWord: "a mapping",
}

// insideJob matches the field paths below an entry's job, which
// jobspec.Parse reports on instead of the workload's own checks.
var insideJob = regexp.MustCompile(`^jobs\[\d+\]\.job[.\[]`)

// ParseWorkload reads a workload file. filename is used only in messages.
// When anything is wrong it returns nil and a jobspec.Errors listing every
// problem, the embedded jobs' included, sorted by line.
func ParseWorkload(filename string, data []byte) (*Workload, error) {
	var f workloadFile
	p := &problems{}
	fields, found := yamlfile.Decode(filename, data, &f, workloadOptions)
	for _, e := range found {
		if !insideJob.MatchString(e.Field) {
			p.report(e)
		}
	}
	if fields == nil {
		return nil, p.err()
	}
	p.Checker = yamlfile.Checker{Fields: fields, Report: p.report}
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil || len(doc.Content) == 0 {
		// yamlfile.Decode read it; this cannot happen.
		p.Errorf("", "cannot read the file: %v", err)
		return nil, p.err()
	}
	entries := lookup(doc.Content[0], "jobs", 0)
	if entries != nil && entries.Kind == yaml.AliasNode {
		entries = entries.Alias
	}
	if len(f.Jobs) == 0 {
		p.Errorf("jobs", "at least one job is required")
	}
	w := &Workload{}
	budget := maxExpand
	for i, a := range f.Jobs {
		field := index("jobs", i)
		if a == nil {
			p.Errorf(field, "must be a mapping with submit_at, duration and job, got null")
			continue
		}
		var jobNode *yaml.Node
		if entries != nil && entries.Kind == yaml.SequenceNode && i < len(entries.Content) {
			jobNode = lookup(entries.Content[i], "job", 0)
		}
		w.Jobs = append(w.Jobs, p.arrivals(filename, field, a, jobNode, &budget, len(w.Jobs))...)
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	slices.SortStableFunc(w.Jobs, func(a, b Arrival) int { return cmp.Compare(a.SubmitAt, b.SubmitAt) })
	width := len(fmt.Sprint(len(w.Jobs)))
	for i := range w.Jobs {
		w.Jobs[i].ID = fmt.Sprintf("j%0*d", width, i)
	}
	return w, nil
}

// arrivals checks one entry and returns the jobs it makes; have is how
// many the entries before it made.
func (p *problems) arrivals(file, field string, a *arrivalFile, jobNode *yaml.Node, budget *int, have int) []Arrival {
	at := p.instant(field+".submit_at", a.SubmitAt)
	if a.SubmitAt == nil {
		p.Errorf(field+".submit_at", "required: when the job is submitted, such as 0s or 90s")
	}
	var dur time.Duration
	if a.Duration == nil {
		p.Errorf(field+".duration", "required: how long the job runs, such as 40m")
	} else {
		dur = p.Duration(field+".duration", *a.Duration, MaxTime)
	}
	count, every := 1, time.Duration(0)
	if a.Repeat != nil {
		count = p.count(field+".repeat.count", a.Repeat.Count, 1, 1, MaxJobs)
		if a.Repeat.Count == nil {
			p.Errorf(field+".repeat.count", "required: how many copies of the job to submit")
		}
		every = p.instant(field+".repeat.every", a.Repeat.Every)
		if last := at + time.Duration(count-1)*every; every > 0 && (MaxTime-at)/every < time.Duration(count-1) || last > MaxTime {
			p.Errorf(field+".repeat", "the last copy would be submitted after %s", MaxTime)
			return nil
		}
	}
	if have+count > MaxJobs {
		p.Errorf(field+".repeat.count", "the workload would have %d jobs, at most %d", have+count, MaxJobs)
		return nil
	}
	if p.Reported(field + ".job") {
		return nil // not a mapping: reported already
	}
	if a.Job == nil || jobNode == nil {
		p.Errorf(field+".job", "required: a job file's contents (apiVersion, kind, metadata, spec)")
		return nil
	}
	spec, errs := parseJob(file, field+".job", jobNode, budget)
	p.errs = append(p.errs, errs...)
	if spec == nil {
		return nil
	}
	queueField := field + ".job.spec.queue"
	out := make([]Arrival, count)
	for k := range out {
		name := spec.Name
		if a.Repeat != nil {
			name = fmt.Sprintf("%s-%d", spec.Name, k)
		}
		out[k] = Arrival{Name: name, SubmitAt: at + time.Duration(k)*every, Duration: dur, Spec: spec,
			file: file, queueLine: p.LineOf(field + ".job"), field: queueField}
	}
	if l := queueLine(jobNode); l > 0 {
		for k := range out {
			out[k].queueLine = l
		}
	}
	return out
}

// CheckQueues reports, as a jobspec.Errors naming the workload file's
// lines, the jobs whose queue the cluster does not define, when it defines
// any. Such a job would never run.
func CheckQueues(c *Cluster, w *Workload) error {
	if len(c.Queues) == 0 {
		return nil
	}
	known := map[string]bool{}
	var names []string
	for _, q := range c.Queues {
		known[q.Name] = true
		names = append(names, q.Name)
	}
	var errs jobspec.Errors
	reported := map[string]bool{}
	for _, a := range w.Jobs {
		key := a.field
		if known[a.Spec.Queue] || reported[key] {
			continue
		}
		reported[key] = true
		errs = append(errs, jobspec.Error{File: a.file, Line: a.queueLine, Field: a.field,
			Msg: fmt.Sprintf("queue %s is not in the cluster's queues (%s)", yamlfile.Quote(a.Spec.Queue), joinNames(names))})
	}
	if len(errs) == 0 {
		return nil
	}
	return errs
}

func joinNames(names []string) string {
	var b bytes.Buffer
	for i, n := range names {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(n)
	}
	return b.String()
}

// queueLine returns the line of spec.queue in a job's mapping, or 0.
func queueLine(job *yaml.Node) int {
	spec := lookup(job, "spec", 0)
	if spec == nil {
		return 0
	}
	if spec.Kind == yaml.AliasNode {
		spec = spec.Alias
	}
	for i := 0; spec != nil && spec.Kind == yaml.MappingNode && i+1 < len(spec.Content); i += 2 {
		if spec.Content[i].Value == "queue" {
			return spec.Content[i].Line
		}
	}
	return 0
}

// lookup returns the value of key in mapping m, following aliases and
// merge keys ("<<") the way yaml.v3 decodes them: the mapping's own keys
// first, then the merged mappings'. It returns nil if there is none.
func lookup(m *yaml.Node, key string, depth int) *yaml.Node {
	if m == nil || depth > 8 {
		return nil
	}
	if m.Kind == yaml.AliasNode {
		m = m.Alias
	}
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	var merges []*yaml.Node
	for i := 0; i+1 < len(m.Content); i += 2 {
		k := m.Content[i]
		if k.Kind == yaml.AliasNode && k.Alias != nil {
			k = k.Alias
		}
		switch {
		case k.Kind == yaml.ScalarNode && k.Value == "<<" && k.ShortTag() == "!!merge":
			merges = append(merges, m.Content[i+1])
		case k.Kind == yaml.ScalarNode && k.Value == key:
			return m.Content[i+1]
		}
	}
	for _, v := range merges {
		if v.Kind == yaml.AliasNode {
			v = v.Alias
		}
		if v == nil {
			continue
		}
		list := []*yaml.Node{v}
		if v.Kind == yaml.SequenceNode {
			list = v.Content
		}
		for _, mm := range list {
			if found := lookup(mm, key, depth+1); found != nil {
				return found
			}
		}
	}
	return nil
}
