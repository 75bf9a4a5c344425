package yamlfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// MaxFileSize is the largest file Decode reads: 1 MiB.
const MaxFileSize = 1 << 20

// Options say how Decode reads one kind of file.
type Options struct {
	// Want says what the top level should hold, for the messages about an
	// empty file and a top level that is not a mapping: "want a job:
	// apiVersion, kind, metadata and spec".
	Want string
	// Unit names what one file holds, in "a second YAML document starts
	// here; one job per file".
	Unit string
	// MapWord says what a map field must be, in "must be a mapping of names
	// to strings, got ...". Empty means "a mapping".
	MapWord string
	// ScalarList, when not nil, is a slice type whose fields also accept one
	// scalar for a list of one ("branch: main" for "branch: [main]"). Its
	// UnmarshalYAML must read a scalar so.
	ScalarList reflect.Type
	// StopAtDuplicateKey makes a key set twice end the checking of the file
	// after the walk, for shapes where the rest of the file would be
	// reported wrongly: yaml.v3 then decodes nothing of that mapping.
	StopAtDuplicateKey bool
}

func (o Options) mapWord() string {
	if o.MapWord == "" {
		return "a mapping"
	}
	return o.MapWord
}

// Decode reads data, the bytes of the file named file, into out, a pointer
// to the file's shape type. It returns every problem found, in the order
// found, and where each field of the file is. Fields is nil when out must
// not be validated: the file could not be read, or decoded only in part.
func Decode(file string, data []byte, out any, opts Options) (*Fields, []Problem) {
	if len(data) > MaxFileSize {
		return nil, []Problem{{File: file, Msg: fmt.Sprintf("file too large: %d bytes, at most %d (1 MiB)", len(data), MaxFileSize)}}
	}
	root, p := readDocument(file, data, opts)
	if p != nil {
		return nil, []Problem{*p}
	}
	t := newTree(file, opts)
	t.lines[""] = root.Line
	t.walk(root, reflect.TypeOf(out).Elem(), "")
	if t.fatal {
		return nil, t.problems
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(out); err != nil {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			// yaml.v3 gave up part way; out is not to be trusted.
			if len(t.problems) == 0 {
				t.errorf("", 0, "%s", strings.TrimPrefix(err.Error(), "yaml: "))
			}
			return nil, t.problems
		}
		t.addTypeErrors(te.Errors)
	}
	return &Fields{File: file, Lines: t.lines, Bad: t.bad}, t.problems
}

var lineMsg = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// readDocument parses data into a node tree and returns its root mapping.
func readDocument(file string, data []byte, opts Options) (*yaml.Node, *Problem) {
	fileErr := func(line int, format string, args ...any) *Problem {
		return &Problem{File: file, Line: line, Msg: fmt.Sprintf(format, args...)}
	}
	syntaxErr := func(err error) *Problem {
		line, msg := syntaxLine(data, err)
		return fileErr(line, "syntax error: %s", msg)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fileErr(0, "file is empty; %s", opts.Want)
		}
		return nil, syntaxErr(err)
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, syntaxErr(err)
	case !emptyDocument(&next):
		return nil, fileErr(max(next.Line, 1), "a second YAML document starts here; one %s per file", opts.Unit)
	}
	if emptyDocument(&doc) {
		return nil, fileErr(0, "file is empty; %s", opts.Want)
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, fileErr(max(root.Line, 1), "the top level must be a mapping (%s), got %s", opts.Want, describe(root))
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
