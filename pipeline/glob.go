package pipeline

import (
	"fmt"
	"path"
	"strings"

	"github.com/phalanx-sched/phalanx/internal/yamlfile"
)

// Globs match branches, tags and file paths. They are path.Match patterns
// ('*' matches within one '/'-separated segment, '?', '[a-z]', '\\'
// escapes), plus one addition: a segment that is exactly "**" matches any
// number of segments, none included. "model/**" matches "model/a.py" and
// "model/x/y.py"; "**/*.go" matches "main.go" and "cmd/x/main.go".

// checkGlob returns why pattern is not a valid glob, or nil.
func checkGlob(pattern string) error {
	if pattern == "" {
		return fmt.Errorf("must not be empty")
	}
	for _, seg := range strings.Split(pattern, "/") {
		if _, err := path.Match(seg, ""); err != nil {
			return fmt.Errorf("not a valid glob %s: %v (path.Match syntax, plus ** for any number of directories)", yamlfile.Quote(pattern), err)
		}
	}
	return nil
}

// matchGlob reports whether name matches pattern. A malformed pattern
// matches nothing.
func matchGlob(pattern, name string) bool {
	ps, ns := strings.Split(pattern, "/"), strings.Split(name, "/")
	// memo[i][j] caches whether ps[i:] matches ns[j:]: 0 unknown, 1 yes, 2 no.
	memo := make([][]byte, len(ps)+1)
	for i := range memo {
		memo[i] = make([]byte, len(ns)+1)
	}
	var match func(i, j int) bool
	match = func(i, j int) bool {
		if memo[i][j] != 0 {
			return memo[i][j] == 1
		}
		var ok bool
		switch {
		case i == len(ps):
			ok = j == len(ns)
		case ps[i] == "**":
			ok = match(i+1, j) || j < len(ns) && match(i, j+1)
		case j == len(ns):
			ok = false
		default:
			m, err := path.Match(ps[i], ns[j])
			ok = err == nil && m && match(i+1, j+1)
		}
		memo[i][j] = 2
		if ok {
			memo[i][j] = 1
		}
		return ok
	}
	return match(0, 0)
}

// matchAny reports whether name matches one of patterns.
func matchAny(patterns []string, name string) bool {
	for _, p := range patterns {
		if matchGlob(p, name) {
			return true
		}
	}
	return false
}

// anyFileMatches reports whether one of files matches one of patterns.
func anyFileMatches(patterns, files []string) bool {
	for _, f := range files {
		if matchAny(patterns, f) {
			return true
		}
	}
	return false
}
