package jobspec

import (
	"errors"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/phalanx-sched/phalanx/api"
)

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "examples", "jobs", "*.yaml"))
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, seed := range []string{
		fullJob, base, "", "~", "- a", "a: b: c", "{", base + "---\n" + base,
		base + "        resources: {cpu: 0.5, memory: 1.5Gi, gpus: 1, gpu_model: \"*A100*\", gpu_memory: 40Gi}\n",
		base + "        env: {A: 1, PHALANX_X: 2, 1B: c}\n        command: [a, ~]\n",
		strings.Replace(base, "image:", "imgae:", 1),
		strings.Replace(base, "spec:\n", "spec:\n  node_selector: {pool: train, phalanx.io/node: n1, a.b/c: d}\n", 1),
		strings.Replace(base, "spec:\n", "spec:\n  node_selector: {phalanx.io/x: y, \"\": z, k: \"\"}\n", 1),
		strings.Replace(base, "    - name: g\n", "    - name: g\n      spread: true\n", 1),
		"apiVersion: phalanx/v1\nkind: Job\nmetadata: {name: j}\nspec:\n  groups:\n    - &g {name: a, task: {image: x}}\n    - {<<: *g, name: b}\n",
		`{"apiVersion": "phalanx/v1", "kind": "Job", "metadata": {"name": "j"}, "spec": {"groups": [{"name": "g", "task": {"image": "x"}}]}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		spec, err := Parse("fuzz.yaml", data)
		if err == nil {
			checkInvariants(t, spec)
			return
		}
		if spec != nil {
			t.Errorf("Parse returned a spec and an error")
		}
		var es Errors
		if !errors.As(err, &es) || len(es) == 0 {
			t.Fatalf("error is %T %v, want non-empty Errors", err, err)
		}
		for i, e := range es {
			if e.File != "fuzz.yaml" {
				t.Errorf("error %q: File = %q", e, e.File)
			}
			if e.Line < 0 || e.Line == 0 && e.Field != "" {
				t.Errorf("error %q: Line = %d", e, e.Line)
			}
			if i > 0 && es[i-1].Line > e.Line {
				t.Errorf("errors not sorted by line: %q before %q", es[i-1], e)
			}
			// yaml.v3's own wording must never reach the user.
			for _, raw := range []string{"cannot unmarshal", "not found in type", "jobspec.", "yaml: "} {
				if strings.Contains(e.Msg, raw) {
					t.Errorf("error %q shows yaml.v3's message", e)
				}
			}
		}
	})
}

// checkInvariants fails t unless spec is what Parse promises for a valid file.
func checkInvariants(t *testing.T, spec *api.JobSpec) {
	t.Helper()
	if spec == nil {
		t.Fatal("Parse returned nil spec and nil error")
	}
	if !ValidName(spec.Name) || !ValidName(spec.Queue) {
		t.Errorf("name %q or queue %q is not a DNS label", spec.Name, spec.Queue)
	}
	if spec.Priority < 0 || spec.Priority > MaxPriority || spec.Walltime < 0 {
		t.Errorf("priority %d or walltime %v out of range", spec.Priority, spec.Walltime)
	}
	if len(spec.Groups) == 0 {
		t.Error("no groups")
	}
	for k, val := range spec.NodeSelector {
		if k != api.NodeSelectorNode && (!labelKey.MatchString(k) || strings.HasPrefix(k, ReservedLabelPrefix)) || !labelValue.MatchString(val) {
			t.Errorf("node_selector %q: %q accepted", k, val)
		}
	}
	names := map[string]bool{}
	for _, g := range spec.Groups {
		if !ValidName(g.Name) || names[g.Name] {
			t.Errorf("group name %q invalid or repeated", g.Name)
		}
		names[g.Name] = true
		if g.Count < 1 || g.Count > MaxCount || g.Restart.Attempts < 0 || g.Restart.Attempts > MaxAttempts {
			t.Errorf("group %q: count %d or attempts %d out of range", g.Name, g.Count, g.Restart.Attempts)
		}
		task, r := g.Task, g.Task.Resources
		if task.Image == "" || strings.ContainsAny(task.Image, " \t\n\r\v\f") {
			t.Errorf("group %q: bad image %q", g.Name, task.Image)
		}
		if task.KillTimeout <= 0 || task.KillTimeout.D() > MaxKillTimeout {
			t.Errorf("group %q: kill timeout %v out of range", g.Name, task.KillTimeout.D())
		}
		if task.WorkingDir != "" && !strings.HasPrefix(task.WorkingDir, "/") {
			t.Errorf("group %q: working dir %q not absolute", g.Name, task.WorkingDir)
		}
		for k := range task.Env {
			if !envName.MatchString(k) || strings.HasPrefix(k, ReservedEnvPrefix) {
				t.Errorf("group %q: bad env name %q", g.Name, k)
			}
		}
		if r.CPUMilli <= 0 || r.MemoryBytes <= 0 || r.GPUs < 0 || r.GPUs > MaxGPUs || r.GPUMemoryBytes < 0 {
			t.Errorf("group %q: resources out of range: %+v", g.Name, r)
		}
		if _, err := path.Match(r.GPUModel, ""); err != nil {
			t.Errorf("group %q: bad gpu model %q", g.Name, r.GPUModel)
		}
		if r.GPUs == 0 && (r.GPUModel != "" || r.GPUMemoryBytes != 0) {
			t.Errorf("group %q: GPU constraints without GPUs: %+v", g.Name, r)
		}
	}
}
