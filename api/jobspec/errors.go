package jobspec

import (
	"fmt"
	"sort"
	"strings"
)

// Error is one problem in a job file.
type Error struct {
	// File is the file name given to Parse.
	File string
	// Line is the 1-based line the problem is on, or 0 for a problem with
	// the file as a whole (too large, empty).
	Line int
	// Field is the path of the field at fault, such as
	// "spec.groups[0].task.resources.gpus", or "" when no field is.
	Field string
	// Msg says what is wrong and, where it can, what would be right.
	Msg string
}

// Error formats the problem as "file:line: field: message", leaving out the
// line when it is 0 and the field when it is empty.
func (e Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		if e.File != "" {
			b.WriteByte(':')
		}
		fmt.Fprintf(&b, "%d", e.Line)
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found in one file, sorted by line. Parse never
// returns an empty Errors.
type Errors []Error

// Error returns one line per problem.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns the problems as single errors, so errors.As finds an Error.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// sortByLine orders problems by line, keeping the order they were found in
// for problems on the same line.
func (es Errors) sortByLine() {
	sort.SliceStable(es, func(i, j int) bool { return es[i].Line < es[j].Line })
}
