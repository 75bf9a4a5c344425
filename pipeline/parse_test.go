package pipeline

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/phalanx-sched/phalanx/api"
	"github.com/phalanx-sched/phalanx/api/jobspec"
)

func TestParseFull(t *testing.T) {
	in := `version: 1
on:
  push: {branches: main, paths: ["src/**"]}
  tag: "v*"
  pull_request:
queue: ci
priority: 70
env: {A: 1}
concurrency: {group: "deploy-${PHALANX_BRANCH}", cancel_in_progress: true}
defaults:
  image: busybox
  resources: {cpu: 2, memory: 1Gi}
  env: {B: b}
  timeout: 5m
  retry: {attempts: 1}
steps:
  - name: test
    commands: [make test]
  - name: gpu
    image: cuda
    needs: test
    when: {branch: [main], event: push, paths: "model/**", status: [success, failure]}
    matrix: {GO: [1.25, "1.26"]}
    retry: {attempts: 3, on_exit_codes: [137]}
    timeout: 1h
    resources: {gpus: 1}
    secrets: [TOKEN]
    env: {B: c}
`
	got, err := Parse(".phalanx.yml", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := &Spec{
		File:    ".phalanx.yml",
		Version: 1,
		On: Triggers{
			Push:        &PushTrigger{Branches: []string{"main"}, Paths: []string{"src/**"}},
			Tag:         &TagTrigger{Tags: []string{"v*"}},
			PullRequest: &PullRequestTrigger{},
		},
		Queue:       "ci",
		Priority:    70,
		Env:         map[string]string{"A": "1"},
		Concurrency: Concurrency{Group: "deploy-${PHALANX_BRANCH}", CancelInProgress: true},
		Steps: []Step{{
			Name:      "test",
			Image:     "busybox",
			Commands:  []string{"make test"},
			When:      When{Status: []string{"success"}},
			Retry:     Retry{Attempts: 1},
			Timeout:   5 * time.Minute,
			Resources: api.Resources{CPUMilli: 2000, MemoryBytes: 1 << 30},
			Env:       map[string]string{"B": "b"},
			Pos:       Pos{File: ".phalanx.yml", Line: 17, Field: "steps[0]"},
		}, {
			Name:      "gpu",
			Image:     "cuda",
			Needs:     []string{"test"},
			When:      When{Branch: []string{"main"}, Event: []string{"push"}, Paths: []string{"model/**"}, Status: []string{"success", "failure"}},
			Matrix:    map[string][]string{"GO": {"1.25", "1.26"}},
			Retry:     Retry{Attempts: 3, OnExitCodes: []int{137}},
			Timeout:   time.Hour,
			Resources: api.Resources{CPUMilli: 2000, MemoryBytes: 1 << 30, GPUs: 1},
			Secrets:   []string{"TOKEN"},
			Env:       map[string]string{"B": "c"},
			Pos:       Pos{File: ".phalanx.yml", Line: 19, Field: "steps[1]"},
		}},
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreUnexported(Spec{})); diff != "" {
		t.Errorf("Parse mismatch (-want +got):\n%s", diff)
	}
}

func TestParseDefaults(t *testing.T) {
	got, err := Parse("p.yml", []byte("version: 1\nsteps:\n  - {name: a, image: x}\n"))
	if err != nil {
		t.Fatal(err)
	}
	all := Triggers{Push: &PushTrigger{}, Tag: &TagTrigger{}, PullRequest: &PullRequestTrigger{}}
	if diff := cmp.Diff(all, got.On); diff != "" {
		t.Errorf("no on: triggers mismatch (-want +got):\n%s", diff)
	}
	if got.Queue != "default" || got.Priority != 50 {
		t.Errorf("queue, priority = %q, %d; want default, 50", got.Queue, got.Priority)
	}
	st := got.Steps[0]
	if st.Resources != (api.Resources{CPUMilli: 500, MemoryBytes: 256 << 20}) || st.Timeout != 0 || st.When.Status[0] != "success" {
		t.Errorf("step defaults: %+v", st)
	}
}

const head = "version: 1\nsteps:\n"

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"version", "steps: []\n", []string{
			`p.yml:1: version: required, must be 1`,
		}},
		{"wrong version", "version: 2\n", []string{
			`p.yml:1: version: must be 1, got 2`,
		}},
		{"unknown fields", head + "  - name: a\n    imgae: x\n    image: x\n    comands: [a]\n", []string{
			`p.yml:4: steps[0].imgae: unknown field, did you mean "image"?`,
			`p.yml:6: steps[0].comands: unknown field, did you mean "commands"?`,
		}},
		{"unknown top field", "version: 1\nstages: []\nstep: []\n", []string{
			`p.yml:2: stages: unknown field; known fields here are version, on, queue, priority, env, concurrency, include, defaults, steps`,
			`p.yml:3: step: unknown field, did you mean "steps"?`,
		}},
		{"bad globs", "version: 1\non: {push: {branches: [\"[main\"], paths: \"a/[\"}, tag: [\"\"]}\n" + head[11:] + "  - {name: a, image: x, when: {branch: \"x[\"}}\n", []string{
			`p.yml:2: on.push.branches[0]: not a valid glob "[main": syntax error in pattern (path.Match syntax, plus ** for any number of directories)`,
			`p.yml:2: on.push.paths: not a valid glob "a/[": syntax error in pattern (path.Match syntax, plus ** for any number of directories)`,
			`p.yml:2: on.tag[0]: must not be empty`,
			`p.yml:4: steps[0].when.branch: not a valid glob "x[": syntax error in pattern (path.Match syntax, plus ** for any number of directories)`,
		}},
		{"names", head + "  - {name: Build, image: x}\n  - {name: a, image: x}\n  - {name: a, image: x}\n  - {image: x}\n", []string{
			`p.yml:3: steps[0].name: must be a DNS label (lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters), got "Build"`,
			`p.yml:5: steps[2].name: step name "a" is already used by the step at p.yml:4`,
			`p.yml:6: steps[3].name: required`,
		}},
		{"missing needs", head + "  - {name: build, image: x, needs: [tset, nope]}\n  - {name: test, image: x}\n", []string{
			`p.yml:3: steps[0].needs[0]: no step named "tset"; did you mean "test"?`,
			`p.yml:3: steps[0].needs[1]: no step named "nope"`,
		}},
		{"cycle", head + "  - {name: a, image: x, needs: c}\n  - {name: b, image: x, needs: a}\n  - {name: c, image: x, needs: [b]}\n  - {name: d, image: x, needs: [d]}\n", []string{
			`p.yml:4: steps[1].needs: cycle: a -> c -> b -> a`,
			`p.yml:6: steps[3].needs[0]: cycle: d -> d`,
		}},
		{"matrix", head + "  - name: a\n    image: x\n    matrix:\n      1X: [a]\n      EMPTY: []\n      PHALANX_X: [b]\n", []string{
			`p.yml:6: steps[0].matrix["1X"]: not a valid variable name: want letters, digits and '_', not starting with a digit, got "1X"`,
			`p.yml:7: steps[0].matrix.EMPTY: must list at least one value`,
			`p.yml:8: steps[0].matrix.PHALANX_X: reserved: Phalanx sets the PHALANX_* variables itself`,
		}},
		{"matrix collision", head + "  - {name: a-x-1, image: x}\n  - {name: a, image: x, matrix: {x: [\"1\"]}}\n", []string{
			`p.yml:4: steps[1].matrix: cell "a-x-1" has the same name as the step at p.yml:3`,
		}},
		{"numbers", "version: 1\npriority: 101\n" + head[11:] + "  - name: a\n    image: x\n    retry: {attempts: -1, on_exit_codes: [0]}\n    resources: {cpu: -1, gpus: -2, memory: 0}\n    timeout: soon\n", []string{
			`p.yml:2: priority: must be <= 100, got 101`,
			`p.yml:6: steps[0].retry.attempts: must be >= 0, got -1`,
			`p.yml:6: steps[0].retry.on_exit_codes[0]: must be >= 1, got 0`,
			`p.yml:7: steps[0].resources.cpu: invalid CPU quantity "-1": must not be negative; want cores such as "2" or "0.5", or millicores such as "500m"`,
			`p.yml:7: steps[0].resources.memory: must be > 0, got "0"`,
			`p.yml:7: steps[0].resources.gpus: must be >= 0, got -2`,
			`p.yml:8: steps[0].timeout: must be a duration such as "90s", "30m" or "2h", got "soon"`,
		}},
		{"when values", head + "  - {name: a, image: x, when: {event: [push, merge], status: always}}\n", []string{
			`p.yml:3: steps[0].when.event[1]: must be one of push, tag, pull_request, manual, got "merge"`,
			`p.yml:3: steps[0].when.status: must be one of success, failure, got "always"`,
		}},
		{"env and secrets", "version: 1\nenv: {PHALANX_X: a}\n" + head[11:] + "  - {name: a, image: x, secrets: [A, A, b-c], env: {\"a b\": c}}\n", []string{
			`p.yml:2: env.PHALANX_X: reserved: Phalanx sets the PHALANX_* variables itself`,
			`p.yml:4: steps[0].secrets[1]: secret "A" is listed twice`,
			`p.yml:4: steps[0].secrets[2]: not a valid variable name: want letters, digits and '_', not starting with a digit, got "b-c"`,
			`p.yml:4: steps[0].env["a b"]: not a valid variable name: want letters, digits and '_', not starting with a digit, got "a b"`,
		}},
		{"types", "version: one\non: [push]\n" + head[11:] + "  - {name: a, image: [x], commands: {a: b}}\n", []string{
			`p.yml:1: version: must be an integer, got "one"`,
			`p.yml:2: on: must be a mapping, got a list`,
			`p.yml:4: steps[0].image: must be a string, got a list`,
			`p.yml:4: steps[0].commands: must be a list, got a mapping`,
		}},
		{"no image", head + "  - {name: a}\n", []string{
			`p.yml:3: steps[0].image: required (here or in defaults.image)`,
		}},
		{"concurrency", "version: 1\nconcurrency: {group: \"x-${BRANCH}\"}\n", []string{
			`p.yml:2: concurrency.group: unknown variable ${BRANCH}; a group may use ${PHALANX_BRANCH}, ${PHALANX_COMMIT}, ${PHALANX_EVENT}, ${PHALANX_PIPELINE_ID}, ${PHALANX_PULL_REQUEST}, ${PHALANX_REF}, ${PHALANX_REPO}, ${PHALANX_TAG}`,
		}},
		{"include without reader", "version: 1\ninclude: ci/a.yml\n", []string{
			`p.yml:2: include: cannot include "ci/a.yml": included files are not read here`,
		}},
		{"duplicate key", "version: 1\nqueue: a\nqueue: b\n", []string{
			`p.yml:3: queue: set twice (first on line 2)`,
		}},
		{"empty", "", []string{`p.yml: file is empty; want a pipeline: version, on, steps`}},
		{"syntax", "version: 1\nsteps: [\n", []string{`p.yml:3: syntax error: did not find expected node content`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse("p.yml", []byte(tt.in))
			if err == nil {
				t.Fatalf("Parse succeeded, want errors; got %+v", got)
			}
			if diff := cmp.Diff(tt.want, errorLines(t, err)); diff != "" {
				t.Errorf("errors mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// errorLines checks err is a jobspec.Errors and returns its lines.
func errorLines(t *testing.T, err error) []string {
	t.Helper()
	var es jobspec.Errors
	if !errors.As(err, &es) {
		t.Fatalf("error is %T, want jobspec.Errors: %v", err, err)
	}
	return strings.Split(es.Error(), "\n")
}

func TestParseLargeMatrix(t *testing.T) {
	var b strings.Builder
	b.WriteString(head + "  - name: a\n    image: x\n    matrix:\n")
	for _, k := range []string{"A", "B", "C", "D", "E", "F", "G", "H", "I", "J"} {
		b.WriteString("      " + k + ": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]\n")
	}
	_, err := Parse("p.yml", []byte(b.String()))
	if diff := cmp.Diff([]string{`p.yml:5: steps[0].matrix: more than 256 cells`}, errorLines(t, err)); diff != "" {
		t.Errorf("errors mismatch (-want +got):\n%s", diff)
	}
}
