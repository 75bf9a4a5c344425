package yamlfile

import (
	"reflect"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"
)

// list is a list that, under Options.ScalarList, may be one string.
type list []string

func (l *list) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		n = &yaml.Node{Kind: yaml.SequenceNode, Content: []*yaml.Node{n}}
	}
	return n.Decode((*[]string)(l))
}

type shape struct {
	Name  *string           `yaml:"name"`
	Count *int              `yaml:"count"`
	Tags  list              `yaml:"tags"`
	Env   map[string]string `yaml:"env"`
	Inner *struct {
		Image *string `yaml:"image"`
	} `yaml:"inner"`
}

var testOptions = Options{Want: "want a thing: name", Unit: "thing", MapWord: "a mapping of names to strings"}

func TestDecodeProblems(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		opts     Options
		want     []Problem
		validate bool // whether Decode returns Fields
	}{
		{"unknown field with suggestion", "name: a\ninner:\n  imgae: x\n", testOptions,
			[]Problem{{File: "f.yml", Line: 3, Field: "inner.imgae", Msg: `unknown field, did you mean "image"?`}}, true},
		{"wrong kind", "count: many\nenv: [a]\n", testOptions,
			[]Problem{
				{File: "f.yml", Line: 1, Field: "count", Msg: `must be an integer, got "many"`},
				{File: "f.yml", Line: 2, Field: "env", Msg: "must be a mapping of names to strings, got a list"},
			}, true},
		{"default map word", "env: 3\n", Options{},
			[]Problem{{File: "f.yml", Line: 1, Field: "env", Msg: `must be a mapping, got "3"`}}, true},
		{"scalar for a list refused", "tags: a\n", testOptions,
			[]Problem{{File: "f.yml", Line: 1, Field: "tags", Msg: `must be a list, got "a"`}}, true},
		{"scalar for a list accepted", "tags: a\n", Options{ScalarList: reflect.TypeOf(list(nil))}, nil, true},
		{"key set twice", "name: a\nname: b\n", testOptions,
			[]Problem{{File: "f.yml", Line: 2, Field: "name", Msg: "set twice (first on line 1)"}}, true},
		{"key set twice stops", "name: a\nname: b\n", Options{StopAtDuplicateKey: true},
			[]Problem{{File: "f.yml", Line: 2, Field: "name", Msg: "set twice (first on line 1)"}}, false},
		{"empty", "# nothing\n", testOptions,
			[]Problem{{File: "f.yml", Msg: "file is empty; want a thing: name"}}, false},
		{"second document", "name: a\n---\nname: b\n", testOptions,
			[]Problem{{File: "f.yml", Line: 2, Msg: "a second YAML document starts here; one thing per file"}}, false},
		{"top level", "- a\n", testOptions,
			[]Problem{{File: "f.yml", Line: 1, Msg: "the top level must be a mapping (want a thing: name), got a list"}}, false},
		{"syntax", "name: [a\n", testOptions,
			[]Problem{{File: "f.yml", Line: 2, Msg: "syntax error: did not find expected ',' or ']'"}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out shape
			fields, got := Decode("f.yml", []byte(tc.in), &out, tc.opts)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
			if (fields != nil) != tc.validate {
				t.Errorf("fields = %v, want them: %v", fields, tc.validate)
			}
		})
	}
}

func TestDecodeLinesAndValue(t *testing.T) {
	var out shape
	fields, problems := Decode("f.yml", []byte("name: a\ntags: [x, y]\nenv:\n  1X: v\n"), &out, testOptions)
	if problems != nil || fields == nil {
		t.Fatalf("Decode: %v, %v", fields, problems)
	}
	wantLines := map[string]int{"": 1, "name": 1, "tags": 2, "tags[0]": 2, "tags[1]": 2, "env": 3, `env["1X"]`: 4}
	if diff := cmp.Diff(wantLines, fields.Lines); diff != "" {
		t.Errorf("lines (-want +got):\n%s", diff)
	}
	if *out.Name != "a" || len(out.Tags) != 2 || out.Env["1X"] != "v" {
		t.Errorf("decoded %+v", out)
	}
}

func TestDecodeTooLarge(t *testing.T) {
	var out shape
	fields, got := Decode("f.yml", make([]byte, MaxFileSize+1), &out, testOptions)
	want := []Problem{{File: "f.yml", Msg: "file too large: 1048577 bytes, at most 1048576 (1 MiB)"}}
	if diff := cmp.Diff(want, got); diff != "" || fields != nil {
		t.Errorf("fields %v, problems (-want +got):\n%s", fields, diff)
	}
}

func TestChecker(t *testing.T) {
	fields := &Fields{
		File:  "f.yml",
		Lines: map[string]int{"": 1, "spec": 2, "spec.groups": 3, "spec.groups[0]": 4},
		Bad:   map[string]bool{"spec.env": true},
	}
	var got []Problem
	c := Checker{Fields: fields, Report: func(p Problem) { got = append(got, p) }}
	c.Errorf("spec.groups[0].name", "required")   // nearest enclosing line
	c.Errorf("metadata", "required")              // only the top level
	c.Errorf(`spec.env["A"]`, "not a valid name") // below a bad path: silent
	c.Between("spec.groups", 7, 0, 5)
	c.Duration("spec.walltime", "90", 0)
	want := []Problem{
		{File: "f.yml", Line: 4, Field: "spec.groups[0].name", Msg: "required"},
		{File: "f.yml", Line: 1, Field: "metadata", Msg: "required"},
		{File: "f.yml", Line: 3, Field: "spec.groups", Msg: "must be <= 5, got 7"},
		{File: "f.yml", Line: 2, Field: "spec.walltime", Msg: `must be a duration such as "90s", "30m" or "2h", got "90"`},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

func TestJoin(t *testing.T) {
	for _, tc := range []struct{ path, key, want string }{
		{"", "spec", "spec"},
		{"spec", "queue", "spec.queue"},
		{"env", "1X", `env["1X"]`},
		{"env", "a.b", `env["a.b"]`},
	} {
		if got := Join(tc.path, tc.key); got != tc.want {
			t.Errorf("Join(%q, %q) = %q, want %q", tc.path, tc.key, got, tc.want)
		}
	}
}
