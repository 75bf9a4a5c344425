package sim

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/phalanx-sched/phalanx/api/jobspec"
)

// seeds adds the files matching pattern and the snippets to f's corpus.
func seeds(f *testing.F, pattern string, snippets ...string) {
	files, _ := filepath.Glob(pattern)
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range snippets {
		f.Add([]byte(s))
	}
}

func FuzzParseCluster(f *testing.F) {
	seeds(f, "../../examples/sim/cluster*.yaml")
	seeds(f, "testdata/*-cluster.yaml", "", "~", "- a", "{", "nodes: ~",
		"nodes: [{name: a, cpu: 1, memory: 1Gi, gpus: {count: 2, nvlink_domains: [[0, 1], [1, 5]]}}]",
		"nodes: [{name_prefix: n, count: 100000, cpu: 1, memory: 1Gi}]",
		"nodes: [&n {name: a, cpu: 1, memory: 1Gi}, {<<: *n, name: b}]\nqueues: [{name: q, weight: 3, quota: {cpu: 0, gpus: 0}}]",
	)
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseCluster("c.yaml", data)
		if err != nil {
			checkErrors(t, "c.yaml", c == nil, err)
			return
		}
		if len(c.Nodes) == 0 {
			t.Fatal("a valid cluster with no nodes")
		}
		for i, n := range c.Nodes {
			if i > 0 && c.Nodes[i-1].ID >= n.ID {
				t.Errorf("nodes not sorted and unique: %s, %s", c.Nodes[i-1].ID, n.ID)
			}
			if !jobspec.ValidName(n.ID) || n.Resources.CPUMilli <= 0 || n.Resources.MemoryBytes <= 0 || n.Resources.GPUs != len(n.GPUs) {
				t.Errorf("bad node %+v", n)
			}
			for _, g := range n.GPUs {
				for _, p := range g.NVLinkPeers {
					if p < 0 || p >= len(n.GPUs) || p == g.Index {
						t.Errorf("node %s: GPU %d has peer %d", n.ID, g.Index, p)
					}
				}
			}
		}
	})
}

func FuzzParseWorkload(f *testing.F) {
	seeds(f, "../../examples/sim/workload*.yaml")
	seeds(f, "testdata/*-workload.yaml", "", "~", "- a", "{", "jobs: ~", "jobs: [~]",
		"jobs:\n  - submit_at: 0s\n    duration: 1m\n    job:"+jobYAML,
		"jobs:\n  - {submit_at: 0s, duration: 1m, repeat: {count: 3, every: 1s}, job: &j {apiVersion: phalanx/v1, kind: Job, metadata: {name: a}, spec: {groups: [{name: g, task: {image: x}}]}}}\n  - {submit_at: 1s, duration: 1m, job: *j}\n",
		"jobs:\n  - {submit_at: 0s, duration: 1m, job: {apiVersion: phalanx/v1, spec: {priority: 1, priority: 2}}}\n",
		"jobs:\n  - &e {submit_at: 0s, duration: 1m, job: {kind: Job}}\n  - {<<: *e, submit_at: 5s}\n",
	)
	f.Fuzz(func(t *testing.T, data []byte) {
		w, err := ParseWorkload("w.yaml", data)
		if err != nil {
			checkErrors(t, "w.yaml", w == nil, err)
			return
		}
		if len(w.Jobs) == 0 {
			t.Fatal("a valid workload with no jobs")
		}
		for i, a := range w.Jobs {
			if a.Spec == nil || a.SubmitAt < 0 || a.SubmitAt > MaxTime || a.Duration <= 0 || a.Duration > MaxTime {
				t.Errorf("bad job %+v", a)
			}
			if i > 0 && (w.Jobs[i-1].SubmitAt > a.SubmitAt || w.Jobs[i-1].ID >= a.ID) {
				t.Errorf("jobs not in order: %s at %s, %s at %s", w.Jobs[i-1].ID, w.Jobs[i-1].SubmitAt, a.ID, a.SubmitAt)
			}
		}
	})
}

// checkErrors fails t unless err is what the parsers promise: a sorted,
// non-empty jobspec.Errors in the file, in words of our own, and no value.
func checkErrors(t *testing.T, file string, noValue bool, err error) {
	t.Helper()
	if !noValue {
		t.Error("returned a value and an error")
	}
	var es jobspec.Errors
	if !errors.As(err, &es) || len(es) == 0 {
		t.Fatalf("error is %T %v, want non-empty jobspec.Errors", err, err)
	}
	for i, e := range es {
		if e.File != file || e.Line < 0 || e.Line == 0 && e.Field != "" && !strings.HasPrefix(e.Msg, "jobs too complex") {
			t.Errorf("error %q: file %q, line %d", e, e.File, e.Line)
		}
		if i > 0 && es[i-1].Line > e.Line {
			t.Errorf("errors not sorted by line: %q before %q", es[i-1], e)
		}
		for _, raw := range []string{"cannot unmarshal", "not found in type", "into sim.", "yaml: "} {
			if strings.Contains(e.Msg, raw) {
				t.Errorf("error %q shows yaml.v3's message", e)
			}
		}
	}
}
