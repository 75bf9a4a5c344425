package pipeline

import (
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// goldenEvents are the events every golden input is compiled for.
var goldenEvents = []struct {
	name string
	ev   Event
}{
	{"push-main", Event{Kind: EventPush, Repo: "acme/app", Ref: "refs/heads/main", Branch: "main", Commit: "0123456789abcdef0123456789abcdef01234567",
		ChangedFiles: []string{"model/net.py", "services/api/main.go", "docs/index.md"}, PipelineID: "run-1"}},
	{"push-feature", Event{Kind: EventPush, Repo: "acme/app", Ref: "refs/heads/feature/x", Branch: "feature/x", Commit: "89abcdef0123456789abcdef0123456789abcdef",
		ChangedFiles: []string{"lib/util.go"}, PipelineID: "run-2"}},
	{"tag", Event{Kind: EventTag, Repo: "acme/app", Ref: "refs/tags/v1.2.0", Tag: "v1.2.0", Commit: "0123456789abcdef0123456789abcdef01234567", PipelineID: "run-3"}},
	{"pull-request", Event{Kind: EventPullRequest, Repo: "acme/app", Ref: "refs/pull/7/head", Branch: "main", Commit: "fedcba9876543210fedcba9876543210fedcba98",
		ChangedFiles: []string{"services/web/app.ts"}, PullRequest: 7, PipelineID: "run-4"}},
	{"manual", Event{Kind: EventManual, Repo: "acme/app", Ref: "refs/heads/main", Branch: "main", Commit: "0123456789abcdef0123456789abcdef01234567", PipelineID: "run-5"}},
}

// goldenInputs are the pipeline files under testdata and the examples.
func goldenInputs(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, pattern := range []string{"testdata/*.yml", "../examples/pipelines/*.yml"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m...)
	}
	if len(out) < 6 {
		t.Fatalf("found only %d golden inputs: %v", len(out), out)
	}
	return out
}

// parseFile parses a pipeline file from disk, reading its includes.
func parseFile(t *testing.T, file string) *Spec {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ParseWithIncludes(file, data, os.ReadFile)
	if err != nil {
		t.Fatalf("Parse:\n%v", err)
	}
	return s
}

// TestGolden compiles every input for every golden event and compares the
// DAG, as JSON, with testdata/golden/INPUT.EVENT.json. -update rewrites
// them.
func TestGolden(t *testing.T) {
	for _, file := range goldenInputs(t) {
		s := parseFile(t, file)
		base := strings.TrimSuffix(filepath.Base(file), ".yml")
		for _, e := range goldenEvents {
			t.Run(base+"."+e.name, func(t *testing.T) {
				got := compileJSON(t, s, e.ev)
				golden := filepath.Join("testdata", "golden", base+"."+e.name+".json")
				if *update {
					if err := os.WriteFile(golden, got, 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (run go test ./pipeline/... -update to write it)", err)
				}
				if diff := cmp.Diff(string(want), string(got)); diff != "" {
					t.Errorf("%s mismatch (-want +got; -update rewrites it):\n%s", golden, diff)
				}
			})
		}
	}
}

// compileJSON compiles s for ev with a queue limit of 80 and renders the
// DAG, or why the event does not trigger it.
func compileJSON(t *testing.T, s *Spec, ev Event) []byte {
	t.Helper()
	d, err := Compile(s, ev, Options{MaxPriority: 80})
	var v any = d
	if err != nil {
		if !errors.Is(err, ErrNotTriggered) {
			t.Fatalf("Compile: %v", err)
		}
		v = map[string]string{"not_triggered": err.Error()}
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}
