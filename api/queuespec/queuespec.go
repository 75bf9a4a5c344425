// Package queuespec reads queue definitions: the file `phalanx queue
// apply` takes, the `queues:` list of the server's configuration, and the
// same list in a `phalanx sim` cluster file. Errors name the file, line and
// field, all of them at once, as job files' do.
package queuespec

import (
	"fmt"
	"sort"

	"github.com/phalanx-sched/phalanx/api"
	"github.com/phalanx-sched/phalanx/api/jobspec"
	"github.com/phalanx-sched/phalanx/internal/yamlfile"
)

// Limits of a queue definition.
const (
	MaxWeight = 1000
	MaxGPUs   = 1 << 24
)

// File is the shape of a queue file: `queues: [...]`.
type File struct {
	Queues []*Entry `yaml:"queues"`
}

// Entry is one queue as written. Quantities are strings, as in job files.
type Entry struct {
	Name        *string `yaml:"name"`
	Weight      *int    `yaml:"weight"`
	Quota       *Quota  `yaml:"quota"`
	MaxPriority *int    `yaml:"max_priority"`
	Borrow      *bool   `yaml:"borrow"`
}

// Quota is a queue's quota as written.
type Quota struct {
	CPU    *string `yaml:"cpu"`
	Memory *string `yaml:"memory"`
	GPUs   *int    `yaml:"gpus"`
}

var options = yamlfile.Options{
	Want:    "want a list of queues under queues:",
	Unit:    "queue file",
	MapWord: "a mapping",
}

// Parse reads a queue file. filename is used only in messages. When
// anything is wrong it returns nil and a jobspec.Errors listing every
// problem, sorted by line.
func Parse(filename string, data []byte) ([]api.Queue, error) {
	var f File
	var errs jobspec.Errors
	report := func(p yamlfile.Problem) {
		errs = append(errs, jobspec.Error{File: p.File, Line: p.Line, Field: p.Field, Msg: p.Msg})
	}
	fields, found := yamlfile.Decode(filename, data, &f, options)
	for _, p := range found {
		report(p)
	}
	var out []api.Queue
	if fields != nil {
		c := yamlfile.Checker{Fields: fields, Report: report}
		if len(f.Queues) == 0 {
			c.Errorf("queues", "at least one queue is required")
		}
		out = CheckAll(c, "queues", f.Queues)
	}
	if len(errs) > 0 {
		sort.SliceStable(errs, func(i, j int) bool { return errs[i].Line < errs[j].Line })
		return nil, errs
	}
	return out, nil
}

// CheckAll checks a list of entries found at field (such as "queues")
// and returns the queues, in order; problems go to c.
func CheckAll(c yamlfile.Checker, field string, entries []*Entry) []api.Queue {
	seen := map[string]string{}
	out := make([]api.Queue, 0, len(entries))
	for i, e := range entries {
		if e == nil {
			e = &Entry{}
		}
		out = append(out, e.Check(c, fmt.Sprintf("%s[%d]", field, i), seen))
	}
	return out
}

// Check checks one entry found at field; seen maps the names defined so
// far to the field that defined them. Unset fields take the defaults:
// weight 1, no quota, no priority cap, borrow true.
func (e *Entry) Check(c yamlfile.Checker, field string, seen map[string]string) api.Queue {
	q := api.Queue{Weight: 1, Borrow: true}
	switch {
	case e.Name == nil:
		c.Errorf(field+".name", "required")
	case !jobspec.ValidName(*e.Name):
		c.Errorf(field+".name", "must be a DNS label (lowercase letters, digits and '-', at most 63 characters), got %s", yamlfile.Quote(*e.Name))
	case seen[*e.Name] != "":
		c.Errorf(field+".name", "queue %s is already defined by %s", *e.Name, seen[*e.Name])
	default:
		q.Name = *e.Name
		seen[q.Name] = field
	}
	q.Weight = between(c, field+".weight", e.Weight, 1, 1, MaxWeight)
	if e.Quota != nil {
		if e.Quota.CPU != nil {
			if n, ok := limit(c, field+".quota.cpu", *e.Quota.CPU, jobspec.ParseCPU); ok {
				q.Quota.CPUMilli = &n
			}
		}
		if e.Quota.Memory != nil {
			if n, ok := limit(c, field+".quota.memory", *e.Quota.Memory, jobspec.ParseBytes); ok {
				q.Quota.MemoryBytes = &n
			}
		}
		if e.Quota.GPUs != nil {
			n := between(c, field+".quota.gpus", e.Quota.GPUs, 0, 0, MaxGPUs)
			q.Quota.GPUs = &n
		}
	}
	if e.MaxPriority != nil {
		n := between(c, field+".max_priority", e.MaxPriority, jobspec.MaxPriority, 0, jobspec.MaxPriority)
		q.MaxPriority = &n
	}
	if e.Borrow != nil {
		q.Borrow = *e.Borrow
	}
	return q
}

// between returns *n, or def when n is nil or outside [lo, hi] (which is
// reported).
func between(c yamlfile.Checker, field string, n *int, def, lo, hi int) int {
	if n == nil {
		return def
	}
	if *n < lo || *n > hi {
		c.Between(field, *n, lo, hi)
		return def
	}
	return *n
}

// limit parses a quota quantity, which may be 0 (none of it may be used).
func limit(c yamlfile.Checker, field, s string, parse func(string) (int64, error)) (int64, bool) {
	if s == "0" {
		return 0, true
	}
	n, err := parse(s)
	switch {
	case err != nil:
		c.Errorf(field, "%v", err)
	case n < 0:
		c.Errorf(field, "must be >= 0, got %s", yamlfile.Quote(s))
	default:
		return n, true
	}
	return 0, false
}
