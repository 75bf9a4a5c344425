package pipeline

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"unicode"

	"github.com/phalanx-sched/phalanx/api/jobspec"
	"github.com/phalanx-sched/phalanx/internal/yamlfile"
)

// envName is what a variable name must look like (as in api/jobspec).
var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// validator checks the decoded values of one file. Its errors go to a list
// shared by all the files of a pipeline.
type validator struct {
	yamlfile.Checker
}

// pos returns where field is: its line, or its nearest enclosing field's.
func (v *validator) pos(field string) Pos {
	return Pos{File: v.File, Line: v.LineOf(field), Field: field}
}

// has reports whether the file sets field, even to null.
func (v *validator) has(field string) bool {
	_, ok := v.Lines[field]
	return ok
}

func index(p string, i int) string { return fmt.Sprintf("%s[%d]", p, i) }

// globs checks a list of globs and returns a copy.
func (v *validator) globs(p string, l stringList) []string {
	for i, g := range l {
		if err := checkGlob(g); err != nil {
			v.Errorf(v.item(p, l, i), "%v", err)
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
			v.Errorf(v.item(p, l, i), "must be one of %s, got %s", strings.Join(allowed, ", "), yamlfile.Quote(s))
		}
	}
	return copyList(l)
}

// env checks variable names: valid, and not PHALANX_*.
func (v *validator) env(p string, m map[string]string) map[string]string {
	for _, k := range slices.Sorted(maps.Keys(m)) {
		v.varName(yamlfile.Join(p, k), k)
	}
	return copyMap(m)
}

func (v *validator) varName(p, k string) {
	switch {
	case !envName.MatchString(k):
		v.Errorf(p, "not a valid variable name: want letters, digits and '_', not starting with a digit, got %s", yamlfile.Quote(k))
	case strings.HasPrefix(k, jobspec.ReservedEnvPrefix):
		v.Errorf(p, "reserved: Phalanx sets the %s* variables itself", jobspec.ReservedEnvPrefix)
	}
}

// name checks a DNS label.
func (v *validator) name(p, s string) {
	if !jobspec.ValidName(s) {
		v.Errorf(p, "must be a DNS label (lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters), got %s", yamlfile.Quote(s))
	}
}

// image checks an image reference.
func (v *validator) image(p, s string) {
	switch {
	case s == "":
		v.Errorf(p, "required")
	case strings.IndexFunc(s, unicode.IsSpace) >= 0:
		v.Errorf(p, "must not contain whitespace, got %s", yamlfile.Quote(s))
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

// copyMap returns a copy of m, or nil when m is empty.
func copyMap(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return maps.Clone(m)
}
