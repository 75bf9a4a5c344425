package pipeline

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/phalanx-sched/phalanx/api/jobspec"
)

// The document reading and the mapping of yaml.v3's messages in this file
// are copied from api/jobspec, where they are unexported.

var lineMsg = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// readDocument parses data into a node tree and returns its root mapping.
// want says what the file should hold, for messages about an empty file.
func readDocument(filename string, data []byte, want string) (*yaml.Node, *jobspec.Error) {
	fileErr := func(line int, format string, args ...any) *jobspec.Error {
		return &jobspec.Error{File: filename, Line: line, Msg: fmt.Sprintf(format, args...)}
	}
	syntaxErr := func(err error) *jobspec.Error {
		line, msg := syntaxLine(data, err)
		return fileErr(line, "syntax error: %s", msg)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fileErr(0, "file is empty; %s", want)
		}
		return nil, syntaxErr(err)
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, syntaxErr(err)
	case !emptyDocument(&next):
		return nil, fileErr(max(next.Line, 1), "a second YAML document starts here; one pipeline per file")
	}
	if emptyDocument(&doc) {
		return nil, fileErr(0, "file is empty; %s", want)
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, fileErr(max(root.Line, 1), "the top level must be a mapping (%s), got %s", want, describe(root))
	}
	return root, nil
}

// emptyDocument reports whether a document holds nothing but null.
func emptyDocument(doc *yaml.Node) bool {
	return len(doc.Content) == 0 || isNull(doc.Content[0])
}

// parserProblems are the messages of yaml.v3's parser, as opposed to its
// scanner. For these yaml.v3 reports a 0-based line.
var parserProblems = map[string]bool{
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"did not find expected '-' indicator":    true,
	"did not find expected <document start>": true,
	"did not find expected <stream-start>":   true,
	"did not find expected key":              true,
	"did not find expected node content":     true,
	"found duplicate %TAG directive":         true,
	"found duplicate %YAML directive":        true,
	"found incompatible YAML document":       true,
	"found undefined tag handle":             true,
}

// syntaxLine returns the 1-based line of a yaml.v3 syntax error and its
// message. yaml.v3 leaves the line out when it is the first, and for errors
// in the bytes themselves (bad UTF-8, control characters); for those, the
// line of the first such byte is the answer.
func syntaxLine(data []byte, err error) (int, string) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if m := lineMsg.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		if parserProblems[m[2]] {
			line++
		}
		return max(line, 1), m[2]
	}
	if strings.HasPrefix(msg, "exceeded max depth") {
		return 0, msg
	}
	line := 1
	for i, r := range string(data) {
		if r == utf8.RuneError || r < ' ' && r != '\t' && r != '\n' && r != '\r' || r == 0x7f {
			return line + bytes.Count(data[:i], []byte("\n")), msg
		}
	}
	return line, msg
}

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
	for _, e := range t.errs {
		reported[e.Line] = true
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
			t.errorf(path, line, "must be %s, got %s", goTypeWord(cannotUnmarshal.FindStringSubmatch(msg)[3]), quote(cannotUnmarshal.FindStringSubmatch(msg)[2]))
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
func goTypeWord(typ string) string {
	typ = strings.TrimPrefix(typ, "*")
	switch {
	case typ == "int":
		return "an integer"
	case typ == "bool":
		return "true or false"
	case typ == "string":
		return "a string"
	case strings.HasPrefix(typ, "[]"), strings.HasSuffix(typ, "stringList"):
		return "a list"
	}
	return "a mapping"
}

// quote renders a user's value for a message: quoted, and cut short when long.
func quote(s string) string {
	const max = 64
	if len(s) > max {
		return fmt.Sprintf("%q...", s[:max])
	}
	return fmt.Sprintf("%q", s)
}
