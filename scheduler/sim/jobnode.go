package sim

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strconv"

	"gopkg.in/yaml.v3"

	"github.com/phalanx-sched/phalanx/api"
	"github.com/phalanx-sched/phalanx/api/jobspec"
)

// maxExpand bounds the nodes that the workload's jobs may expand to,
// counting each use of an alias, as yamlfile bounds one file.
const maxExpand = 200_000

// parseJob checks the job embedded in a workload file at field, whose
// value is node n, with jobspec.Parse, so that it obeys exactly the rules
// of a job file. jobspec.Parse reads bytes, so the node is written out as
// a document of its own, aliases expanded, in block style; its problems
// are then moved back to the workload file's lines and put below field.
// budget is what is left of maxExpand.
func parseJob(file, field string, n *yaml.Node, budget *int) (*api.JobSpec, jobspec.Errors) {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	whole := func(format string, args ...any) jobspec.Errors {
		return jobspec.Errors{{File: file, Line: n.Line, Field: field, Msg: fmt.Sprintf(format, args...)}}
	}
	doc := expand(n, budget)
	if doc == nil {
		return nil, whole("jobs too complex: more than %d values in all, counting each use of an alias", maxExpand)
	}
	data, err := encode(doc)
	if err != nil {
		return nil, whole("cannot read the job: %v", err)
	}
	spec, err := jobspec.Parse(file, data)
	if err == nil {
		return spec, nil
	}
	var es jobspec.Errors
	if !errors.As(err, &es) {
		return nil, whole("%v", err)
	}
	lines := mapLines(doc, data)
	at := func(line int) int { return lines.original(line, n.Line) }
	out := make(jobspec.Errors, len(es))
	for i, e := range es {
		msg := firstOnLine.ReplaceAllStringFunc(e.Msg, func(m string) string {
			l, _ := strconv.Atoi(firstOnLine.FindStringSubmatch(m)[1])
			return fmt.Sprintf("first on line %d", at(l))
		})
		out[i] = jobspec.Error{File: file, Line: at(e.Line), Field: below(field, e.Field), Msg: msg}
	}
	return nil, out
}

var firstOnLine = regexp.MustCompile(`first on line (\d+)`)

// below puts a job file's field path below field.
func below(field, sub string) string {
	switch {
	case sub == "":
		return field
	case sub[0] == '[':
		return field + sub
	}
	return field + "." + sub
}

// expand returns a deep copy of n with every alias replaced by a copy of
// what it names, anchors and comments dropped and collections in block
// style, so that written out each key and item starts a line. Copies keep
// the lines of their originals. It returns nil once budget runs out.
func expand(n *yaml.Node, budget *int) *yaml.Node {
	if n == nil {
		return nil
	}
	for n.Kind == yaml.AliasNode {
		if n.Alias == nil {
			return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Line: n.Line, Column: n.Column}
		}
		n = n.Alias
	}
	if *budget--; *budget < 0 {
		return nil
	}
	c := &yaml.Node{Kind: n.Kind, Style: n.Style &^ yaml.FlowStyle, Tag: n.Tag, Value: n.Value, Line: n.Line, Column: n.Column}
	if len(n.Content) > 0 {
		c.Content = make([]*yaml.Node, len(n.Content))
		for i, child := range n.Content {
			if c.Content[i] = expand(child, budget); c.Content[i] == nil {
				return nil
			}
		}
	}
	return c
}

// encode writes node out as a YAML document.
func encode(n *yaml.Node) (data []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(n); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// lineMap maps the lines of a written-out job to the lines its nodes came
// from.
type lineMap map[int]int

// mapLines reads data, the encoding of doc, and pairs each of its nodes
// with doc's node in the same place.
func mapLines(doc *yaml.Node, data []byte) lineMap {
	m := lineMap{}
	var re yaml.Node
	if yaml.Unmarshal(data, &re) != nil || len(re.Content) == 0 {
		return m
	}
	var walk func(a, b *yaml.Node)
	walk = func(a, b *yaml.Node) {
		if _, seen := m[b.Line]; !seen {
			m[b.Line] = a.Line
		}
		if a.Kind != b.Kind || len(a.Content) != len(b.Content) {
			return
		}
		for i := range a.Content {
			walk(a.Content[i], b.Content[i])
		}
	}
	walk(doc, re.Content[0])
	return m
}

// original returns the line that line of the written-out job came from:
// the nearest line at or above it that a node starts on, or fallback.
func (m lineMap) original(line, fallback int) int {
	for l := line; l > 0; l-- {
		if o, ok := m[l]; ok && o > 0 {
			return o
		}
	}
	return fallback
}
