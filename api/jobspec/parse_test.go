package jobspec

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/phalanx-sched/phalanx/api"
)

const fullJob = `apiVersion: phalanx/v1
kind: Job
metadata: {name: resnet-ddp, labels: {team: vision}}
spec:
  queue: research
  priority: 60
  gang: true
  walltime: 2h
  groups:
    - name: worker
      count: 4
      restart: {attempts: 2}
      task:
        image: pytorch/pytorch:2.4.0
        command: ["torchrun", "--nnodes=4", "train.py"]
        env: {EPOCHS: "3"}
        working_dir: /workspace
        kill_timeout: 30s
        resources: {cpu: 8, memory: 64Gi, gpus: 8, gpu_model: "*H100*", gpu_memory: 40Gi}
    - name: ps
      task:
        image: busybox
`

func TestParseValid(t *testing.T) {
	defaultTask := func(image string) api.Task {
		return api.Task{
			Image:       image,
			KillTimeout: api.Duration(10 * time.Second),
			Resources:   api.Resources{CPUMilli: 500, MemoryBytes: 256 << 20},
		}
	}
	tests := []struct {
		name string
		in   string
		want *api.JobSpec
	}{{
		name: "full",
		in:   fullJob,
		want: &api.JobSpec{
			Network:  "host",
			Name:     "resnet-ddp",
			Labels:   map[string]string{"team": "vision"},
			Queue:    "research",
			Priority: 60,
			Gang:     true,
			Walltime: api.Duration(2 * time.Hour),
			Groups: []api.Group{{
				Name:    "worker",
				Count:   4,
				Restart: api.RestartPolicy{Attempts: 2},
				Task: api.Task{
					Image:       "pytorch/pytorch:2.4.0",
					Command:     []string{"torchrun", "--nnodes=4", "train.py"},
					Env:         map[string]string{"EPOCHS": "3"},
					WorkingDir:  "/workspace",
					KillTimeout: api.Duration(30 * time.Second),
					Resources: api.Resources{
						CPUMilli:       8000,
						MemoryBytes:    64 << 30,
						GPUs:           8,
						GPUModel:       "*H100*",
						GPUMemoryBytes: 40 << 30,
					},
				},
			}, {
				Name:  "ps",
				Count: 1,
				Task:  defaultTask("busybox"),
			}},
		},
	}, {
		name: "defaults",
		in: `apiVersion: phalanx/v1
kind: Job
metadata: {name: j}
spec:
  groups: [{name: g, task: {image: busybox}}]
`,
		want: &api.JobSpec{
			Network: "bridge",
			Name:    "j", Queue: "default", Priority: 50,
			Groups: []api.Group{{Name: "g", Count: 1, Task: defaultTask("busybox")}},
		},
	}, {
		name: "nulls mean defaults",
		in: `apiVersion: phalanx/v1
kind: Job
metadata: {name: j, labels: ~}
spec:
  queue: ~
  priority:
  walltime: null
  groups:
    - name: g
      count:
      restart:
      task:
        image: busybox
        command: []
        env: {}
        resources:
`,
		want: &api.JobSpec{
			Network: "bridge",
			Name:    "j", Queue: "default", Priority: 50,
			Groups: []api.Group{{Name: "g", Count: 1, Task: defaultTask("busybox")}},
		},
	}, {
		name: "numbers and bools as env values, fractional units, limits",
		in: `apiVersion: phalanx/v1
kind: Job
metadata: {name: j}
spec:
  priority: 0
  gang: false
  groups:
    - name: g
      count: 10000
      restart: {attempts: 100}
      task:
        image: busybox
        env: {A: 1, B: true, C: 1.5, _d: ""}
        kill_timeout: 1h
        resources: {cpu: 0.5, memory: 1.5Gi, gpus: 64, gpu_memory: 0}
`,
		want: &api.JobSpec{
			Network: "bridge",
			Name:    "j", Queue: "default", Priority: 0,
			Groups: []api.Group{{
				Name: "g", Count: 10000, Restart: api.RestartPolicy{Attempts: 100},
				Task: api.Task{
					Image:       "busybox",
					Env:         map[string]string{"A": "1", "B": "true", "C": "1.5", "_d": ""},
					KillTimeout: api.Duration(time.Hour),
					Resources:   api.Resources{CPUMilli: 500, MemoryBytes: 3 << 29, GPUs: 64},
				},
			}},
		},
	}, {
		name: "JSON",
		in: `{
	"apiVersion": "phalanx/v1",
	"kind": "Job",
	"metadata": {"name": "j"},
	"spec": {
		"priority": 70,
		"groups": [{"name": "g", "count": 2, "task": {"image": "busybox", "command": ["sh", "-c", "true"],
			"resources": {"cpu": "250m", "memory": 1073741824}}}]
	}
}`,
		want: &api.JobSpec{
			Network: "bridge",
			Name:    "j", Queue: "default", Priority: 70,
			Groups: []api.Group{{Name: "g", Count: 2, Task: api.Task{
				Image:       "busybox",
				Command:     []string{"sh", "-c", "true"},
				KillTimeout: api.Duration(10 * time.Second),
				Resources:   api.Resources{CPUMilli: 250, MemoryBytes: 1 << 30},
			}}},
		},
	}, {
		name: "anchors and merges",
		in: `apiVersion: phalanx/v1
kind: Job
metadata: {name: j}
spec:
  groups:
    - name: a
      task: &task
        image: busybox
        resources: {cpu: 2}
    - name: b
      task:
        <<: *task
        image: alpine
`,
		want: &api.JobSpec{
			Network: "bridge",
			Name:    "j", Queue: "default", Priority: 50,
			Groups: []api.Group{{
				Name: "a", Count: 1,
				Task: api.Task{Image: "busybox", KillTimeout: api.Duration(10 * time.Second),
					Resources: api.Resources{CPUMilli: 2000, MemoryBytes: 256 << 20}},
			}, {
				Name: "b", Count: 1,
				Task: api.Task{Image: "alpine", KillTimeout: api.Duration(10 * time.Second),
					Resources: api.Resources{CPUMilli: 2000, MemoryBytes: 256 << 20}},
			}},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse("job.yaml", []byte(tt.in))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Parse mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// base is a valid job; tests append lines to the task (indented 8) or
// replace parts of it.
const base = `apiVersion: phalanx/v1
kind: Job
metadata: {name: j}
spec:
  groups:
    - name: g
      task:
        image: busybox
`

func TestNetworkDefaults(t *testing.T) {
	tests := []struct {
		name, spec, want string
	}{
		{"gang of 2: host", "  gang: true\n  groups: [{name: w, count: 2, task: {image: i}}]\n", "host"},
		{"gang of 1: bridge", "  gang: true\n  groups: [{name: w, task: {image: i}}]\n", "bridge"},
		{"not a gang: bridge", "  groups: [{name: w, count: 4, task: {image: i}}]\n", "bridge"},
		{"gang asks for bridge", "  gang: true\n  network: bridge\n  groups: [{name: w, count: 2, task: {image: i}}]\n", "bridge"},
		{"single task asks for host", "  network: host\n  groups: [{name: w, task: {image: i}}]\n", "host"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec, err := Parse("job.yaml", []byte("apiVersion: phalanx/v1\nkind: Job\nmetadata: {name: j}\nspec:\n"+tt.spec))
			if err != nil {
				t.Fatal(err)
			}
			if spec.Network != tt.want {
				t.Errorf("network %q, want %q", spec.Network, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	const res = "spec.groups[0].task.resources"
	tests := []struct {
		name string
		in   string
		want []string
	}{
		// Top level.
		{"apiVersion wrong", strings.Replace(base, "phalanx/v1", "v1", 1),
			[]string{`job.yaml:1: apiVersion: must be "phalanx/v1", got "v1"`}},
		{"apiVersion missing", strings.Replace(base, "apiVersion: phalanx/v1\n", "", 1),
			[]string{`job.yaml:1: apiVersion: required, must be "phalanx/v1"`}},
		{"kind wrong", strings.Replace(base, "kind: Job", "kind: job", 1),
			[]string{`job.yaml:2: kind: must be "Job", got "job"`}},
		{"kind missing", strings.Replace(base, "kind: Job\n", "", 1),
			[]string{`job.yaml:1: kind: required, must be "Job"`}},
		{"metadata missing", strings.Replace(base, "metadata: {name: j}\n", "", 1),
			[]string{`job.yaml:1: metadata: required, with at least a name`}},
		{"name missing", strings.Replace(base, "{name: j}", "{labels: {a: b}}", 1),
			[]string{`job.yaml:3: metadata.name: required`}},
		{"name empty", strings.Replace(base, "{name: j}", `{name: ""}`, 1),
			[]string{`job.yaml:3: metadata.name: required`}},
		{"name not a DNS label", strings.Replace(base, "{name: j}", "{name: My_Job}", 1),
			[]string{`job.yaml:3: metadata.name: must be a DNS label (lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters), got "My_Job"`}},
		{"name too long", strings.Replace(base, "{name: j}", "{name: "+strings.Repeat("a", 64)+"}", 1),
			[]string{`job.yaml:3: metadata.name: must be a DNS label (lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters), got "` + strings.Repeat("a", 64) + `"`}},
		{"name ends in dash", strings.Replace(base, "{name: j}", "{name: j-}", 1),
			[]string{`job.yaml:3: metadata.name: must be a DNS label (lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters), got "j-"`}},
		{"spec missing", strings.Split(base, "spec:")[0],
			[]string{`job.yaml:1: spec: required, with at least one group`}},
		{"spec null", strings.Split(base, "spec:")[0] + "spec:\n",
			[]string{`job.yaml:4: spec: required, with at least one group`}},

		// Spec.
		{"queue", strings.Replace(base, "spec:\n", "spec:\n  queue: Research\n", 1),
			[]string{`job.yaml:5: spec.queue: must be a DNS label (lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters), got "Research"`}},
		{"priority low", strings.Replace(base, "spec:\n", "spec:\n  priority: -1\n", 1),
			[]string{`job.yaml:5: spec.priority: must be >= 0, got -1`}},
		{"priority high", strings.Replace(base, "spec:\n", "spec:\n  priority: 101\n", 1),
			[]string{`job.yaml:5: spec.priority: must be <= 100, got 101`}},
		{"walltime zero", strings.Replace(base, "spec:\n", "spec:\n  walltime: 0s\n", 1),
			[]string{`job.yaml:5: spec.walltime: must be > 0, got "0s"`}},
		{"walltime negative", strings.Replace(base, "spec:\n", "spec:\n  walltime: -1h\n", 1),
			[]string{`job.yaml:5: spec.walltime: must be > 0, got "-1h"`}},
		{"walltime no unit", strings.Replace(base, "spec:\n", "spec:\n  walltime: 3600\n", 1),
			[]string{`job.yaml:5: spec.walltime: must be a duration such as "90s", "30m" or "2h", got "3600"`}},
		{"network", strings.Replace(base, "spec:\n", "spec:\n  network: overlay\n", 1),
			[]string{`job.yaml:5: spec.network: must be host or bridge, got "overlay"`}},
		{"no groups", strings.Split(base, "  groups:")[0] + "  groups: []\n",
			[]string{`job.yaml:5: spec.groups: at least one group is required`}},
		{"groups missing", strings.Split(base, "  groups:")[0] + "  gang: true\n",
			[]string{`job.yaml:4: spec.groups: at least one group is required`}},

		// Groups.
		{"group name missing", strings.Replace(base, "- name: g\n      task:", "- task:", 1),
			[]string{`job.yaml:6: spec.groups[0].name: required`}},
		{"group name invalid", strings.Replace(base, "name: g", "name: -g", 1),
			[]string{`job.yaml:6: spec.groups[0].name: must be a DNS label (lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters), got "-g"`}},
		{"group name twice", base + "    - name: g\n      task: {image: busybox}\n",
			[]string{`job.yaml:9: spec.groups[1].name: group name "g" is already used by spec.groups[0]; group names must be unique within a job`}},
		{"count zero", strings.Replace(base, "      task:", "      count: 0\n      task:", 1),
			[]string{`job.yaml:7: spec.groups[0].count: must be >= 1, got 0`}},
		{"count high", strings.Replace(base, "      task:", "      count: 10001\n      task:", 1),
			[]string{`job.yaml:7: spec.groups[0].count: must be <= 10000, got 10001`}},
		{"attempts negative", strings.Replace(base, "      task:", "      restart: {attempts: -1}\n      task:", 1),
			[]string{`job.yaml:7: spec.groups[0].restart.attempts: must be >= 0, got -1`}},
		{"attempts high", strings.Replace(base, "      task:", "      restart: {attempts: 101}\n      task:", 1),
			[]string{`job.yaml:7: spec.groups[0].restart.attempts: must be <= 100, got 101`}},
		{"task missing", strings.Split(base, "      task:")[0],
			[]string{`job.yaml:6: spec.groups[0].task: required`}},
		{"group null", strings.Split(base, "    - name")[0] + "    -\n",
			[]string{`job.yaml:6: spec.groups[0].name: required`, `job.yaml:6: spec.groups[0].task: required`}},

		// Task.
		{"image missing", strings.Replace(base, "image: busybox", "command: [x]", 1),
			[]string{`job.yaml:7: spec.groups[0].task.image: required`}},
		{"image whitespace", strings.Replace(base, "image: busybox", "image: busy box", 1),
			[]string{`job.yaml:8: spec.groups[0].task.image: must not contain whitespace, got "busy box"`}},
		{"env bad name", base + "        env: {1X: a, A-B: b, OK_1: c}\n",
			[]string{
				`job.yaml:9: spec.groups[0].task.env["1X"]: not a valid variable name: want letters, digits and '_', not starting with a digit`,
				`job.yaml:9: spec.groups[0].task.env.A-B: not a valid variable name: want letters, digits and '_', not starting with a digit`,
			}},
		{"env reserved", base + "        env:\n          PHALANX_RANK: \"0\"\n",
			[]string{`job.yaml:10: spec.groups[0].task.env.PHALANX_RANK: reserved: Phalanx sets the PHALANX_* variables itself`}},
		{"working_dir relative", base + "        working_dir: work\n",
			[]string{`job.yaml:9: spec.groups[0].task.working_dir: must be an absolute path, got "work"`}},
		{"kill_timeout zero", base + "        kill_timeout: 0s\n",
			[]string{`job.yaml:9: spec.groups[0].task.kill_timeout: must be > 0, got "0s"`}},
		{"kill_timeout long", base + "        kill_timeout: 61m\n",
			[]string{`job.yaml:9: spec.groups[0].task.kill_timeout: must be <= 1h0m0s, got "61m"`}},
		{"kill_timeout bad", base + "        kill_timeout: soon\n",
			[]string{`job.yaml:9: spec.groups[0].task.kill_timeout: must be a duration such as "90s", "30m" or "2h", got "soon"`}},

		// Resources.
		{"cpu zero", base + "        resources: {cpu: 0}\n",
			[]string{`job.yaml:9: ` + res + `.cpu: must be > 0, got "0"`}},
		{"cpu bad", base + "        resources: {cpu: lots}\n",
			[]string{`job.yaml:9: ` + res + `.cpu: invalid CPU quantity "lots": not a number; want cores such as "2" or "0.5", or millicores such as "500m"`}},
		{"cpu negative", base + "        resources: {cpu: -1}\n",
			[]string{`job.yaml:9: ` + res + `.cpu: invalid CPU quantity "-1": must not be negative; want cores such as "2" or "0.5", or millicores such as "500m"`}},
		{"memory zero", base + "        resources: {memory: 0Mi}\n",
			[]string{`job.yaml:9: ` + res + `.memory: must be > 0, got "0Mi"`}},
		{"memory bad unit", base + "        resources: {memory: 64GB}\n",
			[]string{`job.yaml:9: ` + res + `.memory: invalid byte quantity "64GB": not a number; want a number with an optional unit: k, M, G, T, P (powers of 1000) or Ki, Mi, Gi, Ti, Pi (powers of 1024)`}},
		{"gpus negative", base + "        resources:\n          gpus: -2\n",
			[]string{`job.yaml:10: ` + res + `.gpus: must be >= 0, got -2`}},
		{"gpus high", base + "        resources:\n          gpus: 65\n",
			[]string{`job.yaml:10: ` + res + `.gpus: must be <= 64, got 65`}},
		{"gpu_model bad glob", base + "        resources: {gpus: 1, gpu_model: \"[H100\"}\n",
			[]string{`job.yaml:9: ` + res + `.gpu_model: must be a glob such as "*H100*" (path.Match syntax), got "[H100"`}},
		{"gpu_model without gpus", base + "        resources: {gpu_model: \"*H100*\"}\n",
			[]string{`job.yaml:9: ` + res + `.gpu_model: only meaningful with gpus > 0`}},
		{"gpu_memory without gpus", base + "        resources: {gpu_memory: 40Gi}\n",
			[]string{`job.yaml:9: ` + res + `.gpu_memory: only meaningful with gpus > 0`}},
		{"gpu_memory bad", base + "        resources: {gpus: 1, gpu_memory: 40Xi}\n",
			[]string{`job.yaml:9: ` + res + `.gpu_memory: invalid byte quantity "40Xi": not a number; want a number with an optional unit: k, M, G, T, P (powers of 1000) or Ki, Mi, Gi, Ti, Pi (powers of 1024)`}},

		// Unknown fields.
		{"unknown field with suggestion", strings.Replace(base, "image:", "imgae:", 1),
			[]string{
				`job.yaml:7: spec.groups[0].task.image: required`,
				`job.yaml:8: spec.groups[0].task.imgae: unknown field, did you mean "image"?`,
			}},
		{"unknown field, case", strings.Replace(base, "apiVersion", "apiversion", 1),
			[]string{
				`job.yaml:1: apiversion: unknown field, did you mean "apiVersion"?`,
				`job.yaml:1: apiVersion: required, must be "phalanx/v1"`,
			}},
		{"unknown field, snake case", base + "        workingDir: /w\n",
			[]string{`job.yaml:9: spec.groups[0].task.workingDir: unknown field, did you mean "working_dir"?`}},
		{"unknown field, no suggestion", base + "        resources: {cpu: 1, tpus: 4, disk: 1Gi}\n",
			[]string{
				`job.yaml:9: spec.groups[0].task.resources.tpus: unknown field, did you mean "gpus"?`,
				`job.yaml:9: spec.groups[0].task.resources.disk: unknown field; known fields here are cpu, memory, gpus, gpu_model, gpu_memory`,
			}},
		{"unknown top-level field", "status: done\n" + base,
			[]string{`job.yaml:1: status: unknown field; known fields here are apiVersion, kind, metadata, spec`}},
		{"field set twice", base + "        image: alpine\n",
			[]string{`job.yaml:9: spec.groups[0].task.image: set twice (first on line 8)`}},

		// Wrong kinds.
		{"list for mapping", strings.Replace(base, "metadata: {name: j}", "metadata: [j]", 1),
			[]string{`job.yaml:3: metadata: must be a mapping, got a list`}},
		{"mapping for list", strings.Replace(base, "spec:\n  groups:\n", "spec:\n  groups:\n    g:\n", 1),
			[]string{`job.yaml:5: spec.groups: must be a list, got a mapping`}},
		{"string for list", base + "        command: echo hi\n",
			[]string{`job.yaml:9: spec.groups[0].task.command: must be a list, got "echo hi"`}},
		{"list in list", base + "        command: [sh, [x]]\n",
			[]string{`job.yaml:9: spec.groups[0].task.command[1]: must be a string, got a list`}},
		{"string for int", strings.Replace(base, "      task:", "      count: four\n      task:", 1),
			[]string{`job.yaml:7: spec.groups[0].count: must be an integer, got "four"`}},
		{"quoted int", strings.Replace(base, "      task:", "      count: \"4\"\n      task:", 1),
			[]string{`job.yaml:7: spec.groups[0].count: must be an integer, got "4"`}},
		{"float for int", strings.Replace(base, "      task:", "      count: 2.5\n      task:", 1),
			[]string{`job.yaml:7: spec.groups[0].count: must be an integer, got "2.5"`}},
		{"int overflow", strings.Replace(base, "      task:", "      count: 99999999999999999999\n      task:", 1),
			[]string{`job.yaml:7: spec.groups[0].count: must be an integer, got "99999999999999999999"`}},
		{"string for bool", strings.Replace(base, "spec:\n", "spec:\n  gang: yes\n", 1),
			[]string{`job.yaml:5: spec.gang: must be true or false, got "yes"`}},
		{"mapping for string", base + "        env: {A: {b: c}}\n",
			[]string{`job.yaml:9: spec.groups[0].task.env.A: must be a string, got a mapping`}},
		{"scalar for struct", base + "        resources: big\n",
			[]string{`job.yaml:9: spec.groups[0].task.resources: must be a mapping, got "big"`}},
		{"list for task suppresses required", strings.Replace(base, "      task:\n        image: busybox\n", "      task: [busybox]\n", 1),
			[]string{`job.yaml:7: spec.groups[0].task: must be a mapping, got a list`}},
		{"bad tag", base + "        working_dir: !!int abc\n",
			[]string{`job.yaml:9: spec.groups[0].task.working_dir: must be a string, got "abc"`}},
		{"bad merge", base + "        <<: 1\n",
			[]string{`job.yaml:9: spec.groups[0].task["<<"]: a merge must be a mapping or a list of mappings, got "1"`}},

		// Many problems at once, sorted by line.
		{"many", `apiVersion: phalanx/v2
kind: Job
metadata: {name: Bad}
spec:
  priority: 500
  groups:
    - name: w
      count: 0
      task:
        image: busybox
        resources: {gpus: -2, cpu: abc}
        imagePullPolicy: Always
    - name: w
      task: {}
`, []string{
			`job.yaml:1: apiVersion: must be "phalanx/v1", got "phalanx/v2"`,
			`job.yaml:3: metadata.name: must be a DNS label (lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters), got "Bad"`,
			`job.yaml:5: spec.priority: must be <= 100, got 500`,
			`job.yaml:8: spec.groups[0].count: must be >= 1, got 0`,
			`job.yaml:11: spec.groups[0].task.resources.cpu: invalid CPU quantity "abc": not a number; want cores such as "2" or "0.5", or millicores such as "500m"`,
			`job.yaml:11: spec.groups[0].task.resources.gpus: must be >= 0, got -2`,
			`job.yaml:12: spec.groups[0].task.imagePullPolicy: unknown field; known fields here are image, command, env, working_dir, kill_timeout, resources`,
			`job.yaml:13: spec.groups[1].name: group name "w" is already used by spec.groups[0]; group names must be unique within a job`,
			`job.yaml:14: spec.groups[1].task.image: required`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse("job.yaml", []byte(tt.in))
			if err == nil {
				t.Fatalf("Parse succeeded, want errors; got %+v", got)
			}
			if diff := cmp.Diff(tt.want, errorLines(t, err)); diff != "" {
				t.Errorf("errors mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// errorLines checks err is an Errors and returns its lines.
func errorLines(t *testing.T, err error) []string {
	t.Helper()
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("error is %T, want Errors: %v", err, err)
	}
	if got, want := err.Error(), strings.Join(linesOf(es), "\n"); got != want {
		t.Errorf("Error() = %q, want one line per problem %q", got, want)
	}
	return linesOf(es)
}

func linesOf(es Errors) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Error())
	}
	return out
}

func TestParseDocumentErrors(t *testing.T) {
	deep := strings.Repeat("[", 20000) + strings.Repeat("]", 20000)
	deepSpec := "apiVersion: phalanx/v1\nkind: Job\nmetadata: {name: j}\nspec: " + strings.Repeat("{a: ", 5000) + "1" + strings.Repeat("}", 5000) + "\n"
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"empty", "", []string{`job.yaml: file is empty; want a job: apiVersion, kind, metadata and spec`}},
		{"comments only", "# nothing\n", []string{`job.yaml: file is empty; want a job: apiVersion, kind, metadata and spec`}},
		{"null", "~\n", []string{`job.yaml: file is empty; want a job: apiVersion, kind, metadata and spec`}},
		{"scalar", "hello\n", []string{`job.yaml:1: the top level must be a mapping (want a job: apiVersion, kind, metadata and spec), got "hello"`}},
		{"list", "- a\n- b\n", []string{`job.yaml:1: the top level must be a mapping (want a job: apiVersion, kind, metadata and spec), got a list`}},
		{"syntax", "apiVersion: phalanx/v1\nkind: Job\nmetadata: {name: j\n", []string{`job.yaml:3: syntax error: did not find expected ',' or '}'`}},
		{"bad indentation", "spec:\n  a: 1\n b: 2\n", []string{`job.yaml:3: syntax error: did not find expected key`}},
		{"tab", "spec:\n\tgroups: []\n", []string{`job.yaml:2: syntax error: found character that cannot start any token`}},
		{"two documents", base + "---\n" + base, []string{`job.yaml:9: a second YAML document starts here; one job per file`}},
		{"too large", base + "# " + strings.Repeat("x", MaxFileSize), []string{fmt.Sprintf("job.yaml: file too large: %d bytes, at most 1048576 (1 MiB)", len(base)+2+MaxFileSize)}},
		{"deep nesting", deep, []string{`job.yaml: syntax error: exceeded max depth of 10000`}},
		{"deep under spec", deepSpec, []string{
			`job.yaml:4: spec.a: unknown field; known fields here are queue, priority, gang, walltime, network, node_selector, groups`,
			`job.yaml:4: spec.groups: at least one group is required`,
		}},
		{"too many entries", base + "        env:\n" + strings.Repeat("", 0) + manyEnv(1001),
			[]string{`job.yaml:9: spec.groups[0].task.env: too many entries: 1001, at most 1000`}},
		{"alias bomb", aliasBomb(), []string{`job.yaml: document too complex: more than 200000 values, counting each use of an alias`}},
		{"null item in list", base + "        command: [a, ~, b]\n",
			[]string{`job.yaml:9: spec.groups[0].task.command[1]: must be a string, got null`}},
		{"first line syntax", "a: b: c\n", []string{`job.yaml:1: syntax error: mapping values are not allowed in this context`}},
		{"control character", "apiVersion: phalanx/v1\nkind: \x01Job\n", []string{`job.yaml:2: syntax error: control characters are not allowed`}},
		{"bad UTF-8", "apiVersion: phalanx/v1\n\nkind: \xffJob\n", []string{`job.yaml:3: syntax error: invalid leading UTF-8 octet`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("job.yaml", []byte(tt.in))
			if err == nil {
				t.Fatal("Parse succeeded, want errors")
			}
			if diff := cmp.Diff(tt.want, errorLines(t, err)); diff != "" {
				t.Errorf("errors mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func manyEnv(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString("          V")
		b.WriteString(strings.Repeat("x", i%7))
		b.WriteString(string(rune('a' + i%26)))
		b.WriteString(strings.Repeat("y", i/26))
		b.WriteString(": v\n")
	}
	return b.String()
}

// aliasBomb is a job whose groups expand, through aliases, into far more
// values than the file has bytes: each of 1000 groups has the same 1000
// variables.
func aliasBomb() string {
	var b strings.Builder
	b.WriteString("apiVersion: phalanx/v1\nkind: Job\nmetadata: {name: j}\nspec:\n  groups:\n")
	b.WriteString("    - &g {name: g, task: {image: busybox, env: {")
	for i := range 1000 {
		fmt.Fprintf(&b, "V%d: x, ", i)
	}
	b.WriteString("}}}\n")
	b.WriteString(strings.Repeat("    - *g\n", 999))
	return b.String()
}

func TestErrorFormat(t *testing.T) {
	tests := []struct {
		err  Error
		want string
	}{
		{Error{File: "job.yaml", Line: 12, Field: "spec.groups[0].task.resources.gpus", Msg: "must be >= 0, got -2"},
			"job.yaml:12: spec.groups[0].task.resources.gpus: must be >= 0, got -2"},
		{Error{File: "job.yaml", Line: 3, Msg: "syntax error: x"}, "job.yaml:3: syntax error: x"},
		{Error{File: "job.yaml", Msg: "file is empty"}, "job.yaml: file is empty"},
		{Error{Line: 2, Field: "kind", Msg: "required"}, "2: kind: required"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}
