package yamlfile

import (
	"regexp"
	"strconv"
	"strings"
)

var (
	cannotUnmarshal = regexp.MustCompile("^cannot unmarshal !!(\\w+) `(.*)` into (.*)$")
	notFound        = regexp.MustCompile(`^field (.*) not found in type `)
)

// addTypeErrors adds yaml.v3's complaints ("line 12: cannot unmarshal ...")
// that the tree walk did not already report on the same line, in the
// file:line: field: message form. The walk should leave none; this is the
// backstop behind it.
func (t *tree) addTypeErrors(msgs []string) {
	reported := t.badLines
	for _, p := range t.problems {
		reported[p.Line] = true
	}
	for _, msg := range msgs {
		m := lineMsg.FindStringSubmatch(msg)
		if m == nil {
			t.errorf("", 0, "invalid value")
			continue
		}
		line, _ := strconv.Atoi(m[1])
		if reported[line] {
			continue
		}
		reported[line] = true
		path := t.pathAt(line)
		t.bad[path] = true
		switch msg := m[2]; {
		case cannotUnmarshal.MatchString(msg):
			c := cannotUnmarshal.FindStringSubmatch(msg)
			t.errorf(path, line, "must be %s, got %s", t.goTypeWord(c[3]), Quote(c[2]))
		case notFound.MatchString(msg):
			t.errorf(path, line, "unknown field")
		case strings.Contains(msg, "already"):
			t.errorf(path, line, "set twice")
		default:
			t.errorf(path, line, "invalid value")
		}
	}
}

// pathAt returns the longest field path whose key is on line, or "".
func (t *tree) pathAt(line int) string {
	best := ""
	for p, l := range t.lines {
		if l == line && (len(p) > len(best) || len(p) == len(best) && p < best) {
			best = p
		}
	}
	return best
}

// goTypeWord names a Go type from a yaml.v3 message the way a user would.
func (t *tree) goTypeWord(typ string) string {
	typ = strings.TrimPrefix(typ, "*")
	switch {
	case typ == "int":
		return "an integer"
	case typ == "bool":
		return "true or false"
	case typ == "string":
		return "a string"
	case strings.HasPrefix(typ, "[]"), t.opts.ScalarList != nil && strings.HasSuffix(typ, t.opts.ScalarList.String()):
		return "a list"
	case strings.HasPrefix(typ, "map["):
		return t.opts.mapWord()
	}
	return "a mapping"
}
