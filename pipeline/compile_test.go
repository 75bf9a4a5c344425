package pipeline

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func mustParse(t *testing.T, in string) *Spec {
	t.Helper()
	s, err := Parse("p.yml", []byte(in))
	if err != nil {
		t.Fatalf("Parse:\n%v", err)
	}
	return s
}

func TestCompileEnv(t *testing.T) {
	s := mustParse(t, `version: 1
env: {A: pipeline, B: pipeline, C: pipeline, D: pipeline}
defaults: {image: x, env: {B: defaults, C: defaults, D: defaults}}
steps:
  - name: s
    env: {C: step, D: step}
    matrix: {D: [matrix]}
    commands: [a, b]
`)
	d, err := Compile(s, Event{Kind: EventPush, Branch: "main", Commit: "c1", Repo: "r", Ref: "refs/heads/main", PipelineID: "p1"}, Options{MaxPriority: 100})
	if err != nil {
		t.Fatal(err)
	}
	task := d.Steps[0].Job.Groups[0].Task
	want := map[string]string{
		"A": "pipeline", "B": "defaults", "C": "step", "D": "matrix",
		"PHALANX_BRANCH": "main", "PHALANX_COMMIT": "c1", "PHALANX_EVENT": "push", "PHALANX_PIPELINE_ID": "p1",
		"PHALANX_PULL_REQUEST": "", "PHALANX_REF": "refs/heads/main", "PHALANX_REPO": "r", "PHALANX_STEP": "s-d-matrix", "PHALANX_TAG": "",
	}
	if diff := cmp.Diff(want, task.Env); diff != "" {
		t.Errorf("env mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"sh", "-c", "set -e\na\nb"}, task.Command); diff != "" {
		t.Errorf("command mismatch (-want +got):\n%s", diff)
	}
}

func TestCompilePriority(t *testing.T) {
	s := mustParse(t, "version: 1\npriority: 70\nsteps: [{name: a, image: x}]\n")
	low, high := 30, 90
	tests := []struct {
		name string
		kind string
		opts Options
		want int
	}{
		{"spec", EventPush, Options{MaxPriority: 100}, 70},
		{"queue cap", EventPush, Options{MaxPriority: 60}, 60},
		{"zero cap", EventPush, Options{}, 0},
		{"pull request, base unknown", EventPullRequest, Options{MaxPriority: 100}, 50},
		{"pull request below base", EventPullRequest, Options{MaxPriority: 100, BasePriority: &low}, 30},
		{"pull request cannot raise", EventPullRequest, Options{MaxPriority: 100, BasePriority: &high}, 70},
		{"pull request queue cap", EventPullRequest, Options{MaxPriority: 20, BasePriority: &high}, 20},
		{"base ignored for push", EventPush, Options{MaxPriority: 100, BasePriority: &low}, 70},
	}
	for _, tt := range tests {
		d, err := Compile(s, Event{Kind: tt.kind, Branch: "main"}, tt.opts)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if d.Priority != tt.want || d.Steps[0].Job.Priority != tt.want {
			t.Errorf("%s: priority %d (job %d), want %d", tt.name, d.Priority, d.Steps[0].Job.Priority, tt.want)
		}
	}
}

func TestTriggered(t *testing.T) {
	s := mustParse(t, `version: 1
on:
  push: {branches: [main, "release/*"], paths: ["src/**"]}
  tag: "v*"
  pull_request: {branches: main}
`)
	none := mustParse(t, "version: 1\non: {}\n")
	tests := []struct {
		spec *Spec
		ev   Event
		ok   bool
		why  string
	}{
		{s, Event{Kind: EventPush, Branch: "main"}, true, ""},
		{s, Event{Kind: EventPush, Branch: "release/1", ChangedFiles: []string{"src/a/b.go"}}, true, ""},
		{s, Event{Kind: EventPush, Branch: "release/1", ChangedFiles: []string{"README.md"}}, false, "no changed file matches on.push.paths (src/**)"},
		{s, Event{Kind: EventPush, Branch: "release/1", ChangedFiles: []string{}}, false, "no changed file matches on.push.paths (src/**)"},
		{s, Event{Kind: EventPush, Branch: "dev"}, false, `branch "dev" matches none of on.push.branches (main, release/*)`},
		{s, Event{Kind: EventTag, Tag: "v1"}, true, ""},
		{s, Event{Kind: EventTag, Tag: "nightly"}, false, `tag "nightly" matches none of on.tag (v*)`},
		{s, Event{Kind: EventPullRequest, Branch: "dev"}, false, `target branch "dev" matches none of on.pull_request.branches (main)`},
		{s, Event{Kind: EventManual}, true, ""},
		{s, Event{Kind: "merge"}, false, `unknown event kind "merge"; want push, tag, pull_request, manual`},
		{none, Event{Kind: EventPush, Branch: "main"}, false, "on.push is not set: pushes do not start this pipeline"},
		{none, Event{Kind: EventManual}, true, ""},
	}
	for _, tt := range tests {
		ok, why := Triggered(tt.spec, tt.ev)
		if ok != tt.ok || why != tt.why {
			t.Errorf("Triggered(%+v) = %v, %q; want %v, %q", tt.ev, ok, why, tt.ok, tt.why)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	s := mustParse(t, "version: 1\non: {tag: }\nsteps: [{name: a, image: x}]\n")
	if _, err := Compile(s, Event{Kind: EventPush, Branch: "main"}, Options{MaxPriority: 100}); !errors.Is(err, ErrNotTriggered) {
		t.Errorf("push to a tag-only pipeline: err = %v, want ErrNotTriggered", err)
	}
	if _, err := Compile(s, Event{Kind: "merge"}, Options{}); err == nil || errors.Is(err, ErrNotTriggered) {
		t.Errorf("unknown event kind: err = %v, want a plain error", err)
	}
	// A Spec made by hand, not by Parse, may be inconsistent.
	cyclic := &Spec{On: s.On, Steps: []Step{{Name: "a", Needs: []string{"b"}}, {Name: "b", Needs: []string{"a"}}}}
	if _, err := Compile(cyclic, Event{Kind: EventManual}, Options{}); err == nil {
		t.Error("cyclic spec compiled")
	}
	dropped := &Spec{Steps: []Step{{Name: "a", Needs: []string{"b"}, When: When{Event: []string{"push"}}}, {Name: "b", Needs: []string{"a"}}}}
	if _, err := Compile(dropped, Event{Kind: EventManual}, Options{}); err == nil {
		t.Error("cycle through a dropped step compiled")
	}
	missing := &Spec{Steps: []Step{{Name: "a", Needs: []string{"zz"}}}}
	if _, err := Compile(missing, Event{Kind: EventManual}, Options{}); err == nil {
		t.Error("spec with a missing need compiled")
	}
}

func TestLint(t *testing.T) {
	s := mustParse(t, `version: 1
on: {}
concurrency: {cancel_in_progress: true}
steps:
  - {name: a, image: x, resources: {gpus: 1}}
  - {name: b, image: x, resources: {gpus: 1}, timeout: 1h, retry: {on_exit_codes: [1]}}
`)
	var got []string
	for _, w := range Lint(s) {
		got = append(got, w.String())
	}
	want := []string{
		`p.yml:3: concurrency.cancel_in_progress: has no effect without concurrency.group`,
		`p.yml:2: on: no trigger is set: only manual runs start this pipeline`,
		`p.yml:5: steps[0].timeout: a step with GPUs has no timeout: a hung step holds its GPUs until cancelled`,
		`p.yml:6: steps[1].retry.on_exit_codes: has no effect with attempts 0`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Lint mismatch (-want +got):\n%s", diff)
	}
}
