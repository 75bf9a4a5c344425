package pipeline

import (
	"fmt"

	"github.com/phalanx-sched/phalanx/api/jobspec"
)

// Warning is advice about a valid pipeline: something that works but is
// probably not what the author meant.
type Warning struct {
	File  string
	Line  int
	Field string
	Msg   string
}

// String formats the warning as "file:line: field: message", like an error.
func (w Warning) String() string {
	return jobspec.Error{File: w.File, Line: w.Line, Field: w.Field, Msg: w.Msg}.Error()
}

// Lint returns advice about s: the top-level fields first, then the steps
// in order. It never fails a pipeline.
func Lint(s *Spec) []Warning {
	var out []Warning
	warn := func(pos Pos, field, format string, args ...any) {
		out = append(out, Warning{File: pos.File, Line: pos.Line, Field: pos.Field + field, Msg: fmt.Sprintf(format, args...)})
	}
	top := func(field string) Pos { return Pos{File: s.File, Line: s.lines[field], Field: field} }
	if s.Concurrency.CancelInProgress && s.Concurrency.Group == "" {
		warn(top("concurrency.cancel_in_progress"), "", "has no effect without concurrency.group")
	}
	if s.On.Push == nil && s.On.Tag == nil && s.On.PullRequest == nil {
		warn(top("on"), "", "no trigger is set: only manual runs start this pipeline")
	}
	for _, st := range s.Steps {
		if st.Resources.GPUs > 0 && st.Timeout == 0 {
			warn(st.Pos, ".timeout", "a step with GPUs has no timeout: a hung step holds its GPUs until cancelled")
		}
		if len(st.Retry.OnExitCodes) > 0 && st.Retry.Attempts == 0 {
			warn(st.Pos, ".retry.on_exit_codes", "has no effect with attempts 0")
		}
	}
	return out
}
