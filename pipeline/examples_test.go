package pipeline

import (
	"path/filepath"
	"testing"
)

// TestExamples parses, lints and compiles every pipeline under
// examples/pipelines for a push to main.
func TestExamples(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "examples", "pipelines", "*.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 4 {
		t.Fatalf("found %d examples under ../examples/pipelines, want at least 4", len(files))
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			s := parseFile(t, file)
			for _, w := range Lint(s) {
				t.Errorf("lint: %s", w)
			}
			d, err := Compile(s, Event{Kind: EventPush, Branch: "main", Ref: "refs/heads/main", Commit: "c0ffee"}, Options{MaxPriority: 100})
			if err != nil {
				t.Fatalf("Compile: %v", err)
			}
			if len(d.Steps) == 0 {
				t.Fatal("no steps run for a push to main")
			}
			for _, st := range d.Steps {
				checkJob(t, st)
			}
		})
	}
}

// checkJob fails t unless a compiled step's job is what a job file could
// describe: one group of one task, valid names, resources in range.
func checkJob(t *testing.T, st DAGStep) {
	t.Helper()
	j := st.Job
	if len(j.Groups) != 1 || j.Groups[0].Count != 1 {
		t.Errorf("%s: want one group of one task, got %+v", st.Name, j.Groups)
		return
	}
	task := j.Groups[0].Task
	if j.Name != st.Name || !validLabel(j.Name) || !validLabel(j.Queue) || task.Image == "" {
		t.Errorf("%s: bad job name %q, queue %q or image %q", st.Name, j.Name, j.Queue, task.Image)
	}
	if j.Priority < 0 || j.Priority > 100 || task.Resources.CPUMilli <= 0 || task.Resources.MemoryBytes <= 0 || task.Resources.GPUs < 0 {
		t.Errorf("%s: priority or resources out of range: %d %+v", st.Name, j.Priority, task.Resources)
	}
	if task.Env["PHALANX_STEP"] != st.Name {
		t.Errorf("%s: PHALANX_STEP = %q", st.Name, task.Env["PHALANX_STEP"])
	}
}
