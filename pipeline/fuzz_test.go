package pipeline

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/phalanx-sched/phalanx/api/jobspec"
)

// fuzzRepo is what include reads during fuzzing: one good file, one that
// includes itself, one with errors.
var fuzzRepo = map[string]string{
	"ci/a.yml":    "defaults: {image: x}\nsteps: [{name: inc, commands: [a]}]\n",
	"ci/self.yml": "include: ci/self.yml\n",
	"ci/bad.yml":  "steps: [{name: Bad, needs: [nope]}]\n",
}

func FuzzParse(f *testing.F) {
	for _, pattern := range []string{"../examples/pipelines/*.yml", "testdata/*.yml"} {
		files, _ := filepath.Glob(pattern)
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	for _, seed := range []string{
		"", "~", "- a", "a: b: c", "{", "version: 1\n---\nversion: 1\n",
		"version: 1\ninclude: [ci/a.yml, ci/self.yml, ci/bad.yml, ../x]\nsteps: [{name: b, needs: inc}]\n",
		"version: 1\nsteps:\n  - &s {name: a, image: x, matrix: {A: [1, 2], B: [x]}}\n  - {<<: *s, name: b, needs: [a]}\n",
		"version: 1\nconcurrency: {group: \"${PHALANX_BRANCH\"}\non: {push: {paths: [\"**/[\"]}}\n",
		"version: 1\nsteps: [{name: a, image: x, when: {status: [], event: manual, branch: \"**\"}, retry: {on_exit_codes: [300]}}]\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseWithIncludes("fuzz.yml", data, files(fuzzRepo))
		if err != nil {
			checkErrors(t, s, err)
			return
		}
		if s == nil {
			t.Fatal("nil spec and nil error")
		}
		Lint(s)
		for _, ev := range []Event{
			{Kind: EventPush, Branch: "main", ChangedFiles: []string{"a/b.go"}},
			{Kind: EventPullRequest, Branch: "main"},
			{Kind: EventManual},
		} {
			d, err := Compile(s, ev, Options{MaxPriority: 100})
			if err != nil {
				if !errors.Is(err, ErrNotTriggered) {
					t.Fatalf("Compile of a parsed spec: %v", err)
				}
				continue
			}
			seen := map[string]bool{}
			for _, st := range d.Steps {
				for _, n := range st.Needs {
					if !seen[n] {
						t.Fatalf("step %s needs %s, which is not before it", st.Name, n)
					}
				}
				if seen[st.Name] || !jobspec.ValidName(st.Name) {
					t.Fatalf("step name %q repeated or not a DNS label", st.Name)
				}
				seen[st.Name] = true
			}
		}
	})
}

// checkErrors fails t unless err is what ParseWithIncludes promises.
func checkErrors(t *testing.T, s *Spec, err error) {
	t.Helper()
	if s != nil {
		t.Errorf("returned a spec and an error")
	}
	var es jobspec.Errors
	if !errors.As(err, &es) || len(es) == 0 {
		t.Fatalf("error is %T %v, want non-empty jobspec.Errors", err, err)
	}
	for i, e := range es {
		if e.File != "fuzz.yml" && fuzzRepo[e.File] == "" {
			t.Errorf("error %q: File = %q", e, e.File)
		}
		if e.Line < 0 || e.Line == 0 && e.Field != "" {
			t.Errorf("error %q: Line = %d", e, e.Line)
		}
		if i > 0 && es[i-1].File == e.File && es[i-1].Line > e.Line {
			t.Errorf("errors not sorted by line: %q before %q", es[i-1], e)
		}
		if strings.HasPrefix(e.Msg, "yaml: ") {
			t.Errorf("error %q shows yaml.v3's message", e)
		}
		for _, raw := range []string{"cannot unmarshal", "not found in type", " pipeline."} {
			if strings.Contains(e.Msg, raw) {
				t.Errorf("error %q shows yaml.v3's message", e)
			}
		}
	}
}
