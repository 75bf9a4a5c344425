package yamlfile

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Limits on what the tree walk accepts. yaml.v3 checks every mapping it
// decodes for duplicate keys in quadratic time, so a mapping's size is bounded
// before the document reaches it; the visit budget bounds alias expansion.
const (
	maxEntries = 1000
	maxVisits  = 200_000
	maxMerges  = 8
)

// tree walks a document's node tree alongside the file's shape type. It
// records the line of every field path, and reports unknown fields, duplicate
// keys and values of the wrong kind with their exact paths.
type tree struct {
	file  string
	opts  Options
	lines map[string]int  // field path -> line of its key, or of its list item
	bad   map[string]bool // paths whose value could not be decoded
	// badLines holds the lines of the values at bad paths, where yaml.v3
	// reports them too.
	badLines map[int]bool
	problems []Problem
	// fatal is set when the document must not be decoded further: a limit
	// was hit, or a key was set twice under Options.StopAtDuplicateKey.
	fatal  bool
	visits int
}

func newTree(file string, opts Options) *tree {
	return &tree{file: file, opts: opts, lines: map[string]int{}, bad: map[string]bool{}, badLines: map[int]bool{}}
}

func (t *tree) errorf(path string, line int, format string, args ...any) {
	t.problems = append(t.problems, Problem{File: t.file, Line: line, Field: path, Msg: fmt.Sprintf(format, args...)})
}

// badValue reports a value n that cannot be decoded into its field at path;
// validation says nothing more about the field or what is below it.
func (t *tree) badValue(path string, n *yaml.Node, format string, args ...any) {
	t.bad[path] = true
	t.badLines[n.Line] = true
	t.errorf(path, t.lines[path], format, args...)
}

// walk checks node n, the value at path, against type typ.
func (t *tree) walk(n *yaml.Node, typ reflect.Type, path string) {
	if t.fatal {
		return
	}
	if t.visits++; t.visits > maxVisits {
		t.fatal = true
		t.errorf("", 0, "document too complex: more than %d values, counting each use of an alias", maxVisits)
		return
	}
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil {
			return
		}
		n = n.Alias
	}
	if isNull(n) {
		return
	}
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	switch typ.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			t.badValue(path, n, "must be a mapping, got %s", describe(n))
			return
		}
		t.walkStruct(n, typ, path)
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			t.badValue(path, n, "must be %s, got %s", t.opts.mapWord(), describe(n))
			return
		}
		t.walkMap(n, typ.Elem(), path)
	case reflect.Slice:
		if typ == t.opts.ScalarList && n.Kind == yaml.ScalarNode {
			t.walk(n, typ.Elem(), path)
			return
		}
		if n.Kind != yaml.SequenceNode {
			t.badValue(path, n, "must be a list, got %s", describe(n))
			return
		}
		elem := typ.Elem()
		for i, item := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			t.lines[p] = item.Line
			if isNull(item) && elem.Kind() != reflect.Pointer {
				// yaml.v3 would drop the item and shift those after it.
				t.badValue(p, item, "must be %s, got null", kindWord(elem))
				continue
			}
			t.walk(item, elem, p)
		}
	case reflect.String:
		if n.Kind != yaml.ScalarNode || n.ShortTag() == "!!binary" || !decodes(n, typ) {
			t.badValue(path, n, "must be a string, got %s", describe(n))
		}
	case reflect.Int:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || !decodes(n, typ) {
			t.badValue(path, n, "must be an integer, got %s", describe(n))
		}
	case reflect.Bool:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || !decodes(n, typ) {
			t.badValue(path, n, "must be true or false, got %s", describe(n))
		}
	default:
		panic(fmt.Sprintf("yamlfile: no rule for %s at %s", typ, path))
	}
}

// walkStruct checks mapping n against the fields of struct type typ.
func (t *tree) walkStruct(n *yaml.Node, typ reflect.Type, path string) {
	known := map[string]reflect.Type{}
	var names []string
	for i := 0; i < typ.NumField(); i++ {
		f := typ.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		known[name] = f.Type
		names = append(names, name)
	}
	for _, e := range t.entries(n, path, 0) {
		key := e.key.Value
		p := Join(path, key)
		if _, seen := t.lines[p]; !seen || !e.merged {
			t.lines[p] = e.key.Line
		}
		ft, ok := known[key]
		if !ok {
			if s := Suggest(key, names); s != "" {
				t.errorf(p, e.key.Line, "unknown field, did you mean %q?", s)
			} else {
				t.errorf(p, e.key.Line, "unknown field; known fields here are %s", strings.Join(names, ", "))
			}
			continue
		}
		t.walk(e.value, ft, p)
	}
}

// walkMap checks mapping n as a map from names to values of type elem.
func (t *tree) walkMap(n *yaml.Node, elem reflect.Type, path string) {
	for _, e := range t.entries(n, path, 0) {
		p := Join(path, e.key.Value)
		if _, seen := t.lines[p]; !seen || !e.merged {
			t.lines[p] = e.key.Line
		}
		t.walk(e.value, elem, p)
	}
}

type entry struct {
	key, value *yaml.Node
	merged     bool // the entry comes from a merged mapping ("<<: *base")
}

// entries returns the key/value pairs of mapping n: its own, then those of
// mappings merged into it that it does not set itself. It reports keys that
// are not strings, keys set twice, oversized mappings and bad merges.
func (t *tree) entries(n *yaml.Node, path string, depth int) []entry {
	if len(n.Content)/2 > maxEntries {
		t.fatal = true
		t.bad[path] = true
		line, ok := t.lines[path]
		if !ok {
			line = n.Line
		}
		t.errorf(path, line, "too many entries: %d, at most %d", len(n.Content)/2, maxEntries)
		return nil
	}
	var own, merged []entry
	first := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.AliasNode && k.Alias != nil {
			k = k.Alias
		}
		switch {
		case k.Kind == yaml.ScalarNode && k.Value == "<<" && k.ShortTag() == "!!merge":
			merged = append(merged, t.mergeEntries(v, path, depth)...)
		case k.Kind != yaml.ScalarNode || isNull(k) || !decodes(k, reflect.TypeOf("")):
			t.fatal = true // yaml.v3 cannot decode such a key into a field name
			t.bad[path] = true
			t.badLines[k.Line] = true
			t.errorf(path, k.Line, "keys must be strings, got %s", describe(k))
		default:
			if line, dup := first[k.Value]; dup {
				p := Join(path, k.Value)
				t.bad[p] = true
				t.badLines[k.Line] = true
				t.errorf(p, k.Line, "set twice (first on line %d)", line)
				// yaml.v3 decodes nothing of a mapping with a key set
				// twice, so nothing below it can be checked.
				t.fatal = t.fatal || t.opts.StopAtDuplicateKey
				continue
			}
			first[k.Value] = k.Line
			own = append(own, entry{key: k, value: v})
		}
	}
	for _, e := range merged {
		if _, set := first[e.key.Value]; !set {
			first[e.key.Value] = e.key.Line
			e.merged = true
			own = append(own, e)
		}
	}
	return own
}

// mergeEntries returns the entries of v, the value of a merge key ("<<") in
// the mapping at path: a mapping, or a list of mappings.
func (t *tree) mergeEntries(v *yaml.Node, path string, depth int) []entry {
	fail := func(format string, args ...any) []entry {
		t.fatal = true // yaml.v3 would give up on the whole document
		t.bad[path] = true
		t.badLines[v.Line] = true
		t.errorf(Join(path, "<<"), v.Line, format, args...)
		return nil
	}
	if depth >= maxMerges {
		return fail("merges nested more than %d deep", maxMerges)
	}
	items := []*yaml.Node{v}
	if v.Kind == yaml.SequenceNode {
		items = v.Content
	}
	var out []entry
	for _, m := range items {
		if m.Kind == yaml.AliasNode && m.Alias != nil {
			m = m.Alias
		}
		if m.Kind != yaml.MappingNode {
			return fail("a merge must be a mapping or a list of mappings, got %s", describe(m))
		}
		out = append(out, t.entries(m, path, depth+1)...)
	}
	return out
}

// isNull reports whether n is a YAML null ("~", "null" or nothing), which
// stands for a field left out.
func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// decodes reports whether yaml.v3 can decode scalar n into a value of type
// typ. Only explicitly tagged scalars ("!!int abc") and numbers can fail.
func decodes(n *yaml.Node, typ reflect.Type) bool {
	if n.Style&yaml.TaggedStyle == 0 && typ.Kind() == reflect.String {
		return true
	}
	return n.Decode(reflect.New(typ).Interface()) == nil
}

// kindWord names what a value of type typ is written as.
func kindWord(typ reflect.Type) string {
	switch typ.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Int:
		return "an integer"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice:
		return "a list"
	}
	return "a mapping"
}

// describe names what a node is, for "got ..." in messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.DocumentNode:
		return "a document"
	}
	switch n.ShortTag() {
	case "!!null":
		return "null"
	case "!!binary":
		return "binary data"
	}
	return Quote(n.Value)
}

// Join appends a key to a field path: "spec" and "queue" give "spec.queue";
// a key that is not a plain name is quoted: env["1X"].
func Join(path, key string) string {
	if !plainKey(key) {
		return path + "[" + strconv.Quote(key) + "]"
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

// plainKey reports whether key matches [A-Za-z_][A-Za-z0-9_-]*.
func plainKey(key string) bool {
	for i := 0; i < len(key); i++ {
		c := key[i]
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
		if !letter && (i == 0 || c != '-' && (c < '0' || c > '9')) {
			return false
		}
	}
	return key != ""
}

// Suggest returns the name closest to key within an edit distance of 2,
// ignoring case, or "" if none is that close.
func Suggest(key string, names []string) string {
	if len(key) > 64 {
		return ""
	}
	best, bestDist := "", 3
	for _, name := range names {
		if d := editDistance(strings.ToLower(key), strings.ToLower(name)); d < bestDist {
			best, bestDist = name, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
