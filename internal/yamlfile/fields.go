package yamlfile

import (
	"fmt"
	"strings"
	"time"
)

// Fields is where Decode found each field of a file.
type Fields struct {
	// File is the file name given to Decode.
	File string
	// Lines maps the path of every field the file sets, even to null, to
	// the line of its key, or of its item for a list element; "" is the
	// top-level mapping.
	Lines map[string]int
	// Bad holds the paths whose values could not be decoded. Decode has
	// reported them; nothing more is to be said at or below them.
	Bad map[string]bool
}

// LineOf returns the line of field or, when the file does not set it, of
// its nearest enclosing field that the file sets; 0 if none.
func (f *Fields) LineOf(field string) int {
	for p := field; ; p = parent(p) {
		if l, ok := f.Lines[p]; ok {
			return l
		}
		if p == "" {
			return 0
		}
	}
}

// Reported reports whether field is at or below a path in Bad.
func (f *Fields) Reported(field string) bool {
	for p := field; ; p = parent(p) {
		if f.Bad[p] {
			return true
		}
		if p == "" {
			return false
		}
	}
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

// Checker reports the problems that validating a decoded file finds. Each
// goes to Report, on the line LineOf gives, unless the field is Reported.
type Checker struct {
	*Fields
	Report func(Problem)
}

// Errorf reports a problem at field.
func (c Checker) Errorf(field, format string, args ...any) {
	if c.Reported(field) {
		return
	}
	c.Report(Problem{File: c.File, Line: c.LineOf(field), Field: field, Msg: fmt.Sprintf(format, args...)})
}

// Between checks that n is within [lo, hi].
func (c Checker) Between(field string, n, lo, hi int) {
	switch {
	case n < lo:
		c.Errorf(field, "must be >= %d, got %d", lo, n)
	case n > hi:
		c.Errorf(field, "must be <= %d, got %d", hi, n)
	}
}

// Duration parses a duration that must be more than 0 and, unless limit is
// 0, at most limit.
func (c Checker) Duration(field, s string, limit time.Duration) time.Duration {
	d, err := time.ParseDuration(s)
	switch {
	case err != nil:
		c.Errorf(field, "must be a duration such as \"90s\", \"30m\" or \"2h\", got %s", Quote(s))
	case d <= 0:
		c.Errorf(field, "must be > 0, got %s", Quote(s))
	case limit > 0 && d > limit:
		c.Errorf(field, "must be <= %s, got %s", limit, Quote(s))
	}
	return d
}

// Quantity parses a quantity, such as CPUs or bytes, that must be more
// than 0.
func (c Checker) Quantity(field, s string, parse func(string) (int64, error)) int64 {
	n, err := parse(s)
	switch {
	case err != nil:
		c.Errorf(field, "%v", err)
	case n <= 0:
		c.Errorf(field, "must be > 0, got %s", Quote(s))
	}
	return n
}
