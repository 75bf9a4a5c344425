package pipeline

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"
	"unicode"

	"github.com/phalanx-sched/phalanx/api/jobspec"
)

// envName is what a variable name must look like (as in api/jobspec).
var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// validator checks the decoded values of one file. Its errors go to a list
// shared by all the files of a pipeline.
type validator struct {
	file  string
	lines map[string]int  // from the tree walk
	bad   map[string]bool // paths the tree walk already reported
	errs  *jobspec.Errors
}

// errorf reports a problem at a field path, on the line of the field or,
// when the file has none, of the nearest enclosing one. It says nothing about
// a path at or below one whose value could not be decoded. (The lookup is
// api/jobspec's.)
func (v *validator) errorf(field, format string, args ...any) {
	line := -1
	for p := field; ; p = parent(p) {
		if v.bad[p] {
			return
		}
		if l, ok := v.lines[p]; ok && line < 0 {
			line = l
		}
		if p == "" {
			break
		}
	}
	*v.errs = append(*v.errs, jobspec.Error{File: v.file, Line: max(line, 0), Field: field, Msg: fmt.Sprintf(format, args...)})
}

// pos returns where field is: its line, or its nearest enclosing field's.
func (v *validator) pos(field string) Pos {
	for p := field; ; p = parent(p) {
		if l, ok := v.lines[p]; ok {
			return Pos{File: v.file, Line: l, Field: field}
		}
		if p == "" {
			return Pos{File: v.file, Field: field}
		}
	}
}

// has reports whether the file sets field, even to null.
func (v *validator) has(field string) bool {
	_, ok := v.lines[field]
	return ok
}

// parent strips the last element of a field path: "a.b[2]" gives "a.b".
func parent(p string) string {
	if strings.HasSuffix(p, "\"]") {
		if i := strings.LastIndex(p, "[\""); i >= 0 {
			return p[:i]
		}
	}
	if i := strings.LastIndexAny(p, ".["); i >= 0 {
		return p[:i]
	}
	return ""
}

func index(p string, i int) string { return fmt.Sprintf("%s[%d]", p, i) }

// globs checks a list of globs and returns a copy.
func (v *validator) globs(p string, l stringList) []string {
	for i, g := range l {
		if err := checkGlob(g); err != nil {
			v.errorf(v.item(p, l, i), "%v", err)
		}
	}
	return copyList(l)
}

// item names element i of the list l at p; a list written as one string
// has no [0] of its own.
func (v *validator) item(p string, l stringList, i int) string {
	if q := index(p, i); v.has(q) || len(l) != 1 {
		return q
	}
	return p
}

// oneOf checks that every element of l is one of allowed.
func (v *validator) oneOf(p string, l stringList, allowed ...string) []string {
	for i, s := range l {
		if !contains(allowed, s) {
			v.errorf(v.item(p, l, i), "must be one of %s, got %s", strings.Join(allowed, ", "), quote(s))
		}
	}
	return copyList(l)
}

// env checks variable names: valid, and not PHALANX_*.
func (v *validator) env(p string, m map[string]string) map[string]string {
	for _, k := range sortedKeys(m) {
		v.varName(join(p, k), k)
	}
	return copyMap(m)
}

func (v *validator) varName(p, k string) {
	switch {
	case !envName.MatchString(k):
		v.errorf(p, "not a valid variable name: want letters, digits and '_', not starting with a digit, got %s", quote(k))
	case strings.HasPrefix(k, jobspec.ReservedEnvPrefix):
		v.errorf(p, "reserved: Phalanx sets the %s* variables itself", jobspec.ReservedEnvPrefix)
	}
}

// name checks a DNS label.
func (v *validator) name(p, s string) {
	if !jobspec.ValidName(s) {
		v.errorf(p, "must be a DNS label (lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters), got %s", quote(s))
	}
}

func (v *validator) between(p string, n, lo, hi int) {
	switch {
	case n < lo:
		v.errorf(p, "must be >= %d, got %d", lo, n)
	case n > hi:
		v.errorf(p, "must be <= %d, got %d", hi, n)
	}
}

// duration parses a duration that must be more than 0.
func (v *validator) duration(p, s string) time.Duration {
	d, err := time.ParseDuration(s)
	switch {
	case err != nil:
		v.errorf(p, "must be a duration such as \"90s\", \"30m\" or \"2h\", got %s", quote(s))
	case d <= 0:
		v.errorf(p, "must be > 0, got %s", quote(s))
	}
	return d
}

// quantity parses a CPU or byte quantity that must be more than 0.
func (v *validator) quantity(p, s string, parse func(string) (int64, error)) int64 {
	n, err := parse(s)
	switch {
	case err != nil:
		v.errorf(p, "%v", err)
	case n <= 0:
		v.errorf(p, "must be > 0, got %s", quote(s))
	}
	return n
}

// image checks an image reference.
func (v *validator) image(p, s string) {
	switch {
	case s == "":
		v.errorf(p, "required")
	case strings.IndexFunc(s, unicode.IsSpace) >= 0:
		v.errorf(p, "must not contain whitespace, got %s", quote(s))
	}
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func copyList(l []string) []string {
	if len(l) == 0 {
		return nil
	}
	return append([]string(nil), l...)
}

func copyMap(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
