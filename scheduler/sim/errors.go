package sim

import (
	"fmt"
	"sort"
	"time"

	"github.com/phalanx-sched/phalanx/api/jobspec"
	"github.com/phalanx-sched/phalanx/internal/yamlfile"
)

// problems gathers the problems found in one input file, as a job file's
// parser does, so that every one is reported at once.
type problems struct {
	yamlfile.Checker
	errs jobspec.Errors
}

// report adds one problem.
func (p *problems) report(e yamlfile.Problem) {
	p.errs = append(p.errs, jobspec.Error{File: e.File, Line: e.Line, Field: e.Field, Msg: e.Msg})
}

// err returns the problems sorted by line, or nil if there are none.
func (p *problems) err() error {
	if len(p.errs) == 0 {
		return nil
	}
	sort.SliceStable(p.errs, func(i, j int) bool { return p.errs[i].Line < p.errs[j].Line })
	return p.errs
}

// decode reads data into out with yamlfile and returns a checker for the
// decoded value, or nil when it cannot be validated further.
func (p *problems) decode(file string, data []byte, out any, opts yamlfile.Options) bool {
	fields, found := yamlfile.Decode(file, data, out, opts)
	for _, e := range found {
		p.report(e)
	}
	if fields == nil {
		return false
	}
	p.Checker = yamlfile.Checker{Fields: fields, Report: p.report}
	return true
}

// MaxTime bounds every instant and duration in the input files, so that
// no sum of them overflows a time.Duration.
const MaxTime = 100_000 * time.Hour

// instant parses a point in virtual time, such as submit_at: a duration
// from 0 that may be 0.
func (p *problems) instant(field string, s *string) time.Duration {
	if s == nil {
		return 0
	}
	d, err := time.ParseDuration(*s)
	switch {
	case err != nil:
		p.Errorf(field, "must be a duration such as \"0s\", \"90s\", \"30m\" or \"2h\", got %s", yamlfile.Quote(*s))
	case d < 0:
		p.Errorf(field, "must be >= 0, got %s", yamlfile.Quote(*s))
	case d > MaxTime:
		p.Errorf(field, "must be <= %s, got %s", MaxTime, yamlfile.Quote(*s))
	default:
		return d
	}
	return 0
}

// count checks a required count in [lo, hi] and returns it, or lo when it
// is missing or wrong.
func (p *problems) count(field string, n *int, def, lo, hi int) int {
	if n == nil {
		return def
	}
	if *n < lo || *n > hi {
		p.Between(field, *n, lo, hi)
		return def
	}
	return *n
}

func index(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }
