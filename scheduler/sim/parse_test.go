package sim

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/phalanx-sched/phalanx/api"
)

func ptr[T any](v T) *T { return &v }

func TestParseCluster(t *testing.T) {
	in := `nodes:
  - name_prefix: a100
    count: 2
    cpu: 96
    memory: 1Ti
    gpus: {count: 4, model: A100, memory: 80Gi, nvlink_domains: [[0, 1], [2, 3]]}
    labels: {pool: train}
  - name: build
    cpu: 500m
    memory: 512Mi
queues:
  - {name: research, weight: 2, quota: {cpu: 64, memory: 0, gpus: 8}, max_priority: 80}
  - {name: ci, borrow: false}
`
	c, err := ParseCluster("c.yaml", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	gpus := func(node string) []api.GPU {
		out := make([]api.GPU, 4)
		for i := range out {
			peer := i ^ 1
			out[i] = api.GPU{Index: i, UUID: "GPU-" + node + "-" + string(rune('0'+i)), Model: "A100", MemoryBytes: 80 << 30, Healthy: true, NVLinkPeers: []int{peer}}
		}
		return out
	}
	node := func(name string, cpu, mem int64, g []api.GPU, labels map[string]string) *api.Node {
		return &api.Node{ID: name, Name: name, Status: api.NodeReady, Runtime: "sim", Labels: labels,
			Resources: api.Resources{CPUMilli: cpu, MemoryBytes: mem, GPUs: len(g)}, GPUs: g, Ports: api.DefaultPorts}
	}
	want := &Cluster{
		Nodes: []*api.Node{
			node("a100-0", 96000, 1<<40, gpus("a100-0"), map[string]string{"pool": "train"}),
			node("a100-1", 96000, 1<<40, gpus("a100-1"), map[string]string{"pool": "train"}),
			node("build", 500, 512<<20, []api.GPU{}, nil),
		},
		Queues: []api.Queue{
			{Name: "research", Weight: 2, Borrow: true, MaxPriority: ptr(80),
				Quota: api.Quota{CPUMilli: ptr(int64(64000)), MemoryBytes: ptr(int64(0)), GPUs: ptr(8)}},
			{Name: "ci", Weight: 1},
		},
	}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("cluster (-want +got):\n%s", diff)
	}
}

func TestParseClusterNames(t *testing.T) {
	c, err := ParseCluster("c.yaml", []byte("nodes:\n  - {name_prefix: n, count: 11, cpu: 1, memory: 1Gi}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := []string{c.Nodes[0].ID, c.Nodes[1].ID, c.Nodes[10].ID}; !cmp.Equal(got, []string{"n-00", "n-01", "n-10"}) {
		t.Errorf("names %v, want zero-padded so that they sort", got)
	}
}

func TestParseClusterErrors(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"empty", "", "c.yaml: file is empty; want a cluster: nodes and queues"},
		{"no nodes", "queues: []\n", "c.yaml:1: nodes: at least one node is required"},
		{"all at once", `nodes:
  - name_prefix: a
    count: 0
    cpu: -1
    memory: lots
    gpus: {count: 2, nvlink_domains: [[0, 2], [0]]}
  - {name: B, cpu: 1, memory: 1Gi}
  - {cpu: 1, memory: 1Gi}
  - {name: x, name_prefix: y, cpu: 1, memory: 1Gi}
  - {name: x, cpuu: 1, memory: 1Gi}
queues:
  - {name: q, weight: 0, max_priority: 101}
  - {name: q, quota: {gpus: -1, memory: -5Gi}}
  - {borrow: maybe}
`, strings.Join([]string{
			`c.yaml:3: nodes[0].count: must be >= 1, got 0`,
			`c.yaml:4: nodes[0].cpu: invalid CPU quantity "-1": must not be negative; want cores such as "2" or "0.5", or millicores such as "500m"`,
			`c.yaml:5: nodes[0].memory: invalid byte quantity "lots": not a number; want a number with an optional unit: k, M, G, T, P (powers of 1000) or Ki, Mi, Gi, Ti, Pi (powers of 1024)`,
			`c.yaml:6: nodes[0].gpus.nvlink_domains[0][1]: GPU index 2 is not on the node: it has 2 GPUs (0-1)`,
			`c.yaml:6: nodes[0].gpus.nvlink_domains[1][0]: GPU 0 is already in nodes[0].gpus.nvlink_domains[0]; a GPU is in one NVLink domain`,
			`c.yaml:7: nodes[1].name: node names must be DNS labels (lowercase letters, digits and '-', at most 63 characters), got "B"`,
			`c.yaml:8: nodes[2]: name or name_prefix is required`,
			`c.yaml:9: nodes[3]: set name or name_prefix, not both`,
			`c.yaml:10: nodes[4].cpuu: unknown field, did you mean "cpu"?`,
			`c.yaml:10: nodes[4].cpu: required`,
			`c.yaml:12: queues[0].weight: must be >= 1, got 0`,
			`c.yaml:12: queues[0].max_priority: must be <= 100, got 101`,
			`c.yaml:13: queues[1].name: queue q is already defined by queues[0]`,
			`c.yaml:13: queues[1].quota.memory: invalid byte quantity "-5Gi": must not be negative; want a number with an optional unit: k, M, G, T, P (powers of 1000) or Ki, Mi, Gi, Ti, Pi (powers of 1024)`,
			`c.yaml:13: queues[1].quota.gpus: must be >= 0, got -1`,
			`c.yaml:14: queues[2].borrow: must be true or false, got "maybe"`,
			`c.yaml:14: queues[2].name: required`,
		}, "\n")},
		{"duplicate node", "nodes:\n  - {name_prefix: n, count: 2, cpu: 1, memory: 1Gi}\n  - {name: n-1, cpu: 1, memory: 1Gi}\n",
			"c.yaml:3: nodes[1].name: node n-1 is already defined by nodes[0]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseCluster("c.yaml", []byte(tc.in))
			if err == nil {
				t.Fatalf("no error; cluster %+v", c)
			}
			if diff := cmp.Diff(tc.want, err.Error()); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

const jobYAML = `
      apiVersion: phalanx/v1
      kind: Job
      metadata: {name: train}
      spec:
        queue: research
        gang: true
        walltime: 1h
        groups:
          - name: worker
            count: 2
            task: {image: x, resources: {cpu: 8, memory: 64Gi, gpus: 4}}
`

func TestParseWorkload(t *testing.T) {
	in := "jobs:\n  - submit_at: 90s\n    duration: 40m\n    job:" + jobYAML +
		"  - submit_at: 0s\n    duration: 2h\n    repeat: {count: 3, every: 1m}\n    job:" + jobYAML
	w, err := ParseWorkload("w.yaml", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range w.Jobs {
		got = append(got, a.ID+" "+a.Name+" "+a.SubmitAt.String()+" "+a.Duration.String())
	}
	// Sorted by arrival; IDs follow that order.
	want := []string{"j0 train-0 0s 2h0m0s", "j1 train-1 1m0s 2h0m0s", "j2 train 1m30s 40m0s", "j3 train-2 2m0s 2h0m0s"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("jobs (-want +got):\n%s", diff)
	}
	spec := w.Jobs[0].Spec
	if spec.Queue != "research" || !spec.Gang || spec.Walltime.D() != time.Hour || spec.Groups[0].Count != 2 ||
		spec.Groups[0].Task.Resources.GPUs != 4 || spec.Groups[0].Task.KillTimeout.D() != 10*time.Second {
		t.Errorf("spec not parsed with the job file rules: %+v", spec)
	}
}

func TestParseWorkloadErrors(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"empty", "~\n", "w.yaml: file is empty; want a workload: jobs, each with submit_at, duration and job"},
		{"no jobs", "jobs: []\n", "w.yaml:1: jobs: at least one job is required"},
		{"entry problems and job problems, in line order", `jobs:
  - submit_at: -5s
    duration: 0s
    repeat: {every: 1m}
    bogus: 1
    job:
      apiVersion: phalanx/v1
      kind: Job
      metadata: {name: Train}
      spec:
        groups:
          - name: a
            task:
              imgae: x
              resources: {gpus: -2}
  - submit_at: 1m
    duration: 1m
  - submit_at: 1m
    duration: 1m
    job: [a]
`, strings.Join([]string{
			`w.yaml:2: jobs[0].submit_at: must be >= 0, got "-5s"`,
			`w.yaml:3: jobs[0].duration: must be > 0, got "0s"`,
			`w.yaml:4: jobs[0].repeat.count: required: how many copies of the job to submit`,
			`w.yaml:5: jobs[0].bogus: unknown field; known fields here are submit_at, duration, repeat, job`,
			`w.yaml:9: jobs[0].job.metadata.name: must be a DNS label (lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters), got "Train"`,
			`w.yaml:13: jobs[0].job.spec.groups[0].task.image: required`,
			`w.yaml:14: jobs[0].job.spec.groups[0].task.imgae: unknown field, did you mean "image"?`,
			`w.yaml:15: jobs[0].job.spec.groups[0].task.resources.gpus: must be >= 0, got -2`,
			`w.yaml:16: jobs[1].job: required: a job file's contents (apiVersion, kind, metadata, spec)`,
			`w.yaml:20: jobs[2].job: must be a mapping, got a list`,
		}, "\n")},
		{"flow style and aliases keep their lines", `jobs:
  - {submit_at: 0s, duration: 1m, job: &j {apiVersion: phalanx/v1, kind: Job, metadata: {name: a},
      spec: {priority: 101, groups: [{name: g, task: {image: x}}]}}}
  - {submit_at: 0s, duration: 1m, job: *j}
`, strings.Join([]string{
			`w.yaml:3: jobs[0].job.spec.priority: must be <= 100, got 101`,
			`w.yaml:3: jobs[1].job.spec.priority: must be <= 100, got 101`,
		}, "\n")},
		{"key set twice inside a job", `jobs:
  - submit_at: 0s
    duration: 1m
    job:
      apiVersion: phalanx/v1
      kind: Job
      metadata: {name: a}
      spec:
        groups: [{name: g, task: {image: x}}]
        priority: 1
        priority: 2
`, strings.Join([]string{
			// yaml.v3 decodes nothing of a mapping with a key set twice;
			// jobspec says so for job files too.
			`w.yaml:9: jobs[0].job.spec.groups: at least one group is required`,
			`w.yaml:11: jobs[0].job.spec.priority: set twice (first on line 10)`,
		}, "\n")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, err := ParseWorkload("w.yaml", []byte(tc.in))
			if err == nil {
				t.Fatalf("no error; workload %+v", w)
			}
			if diff := cmp.Diff(tc.want, err.Error()); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCheckQueues(t *testing.T) {
	c, err := ParseCluster("c.yaml", []byte("nodes: [{name: n, cpu: 1, memory: 1Gi}]\nqueues: [{name: ci}, {name: prod}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	w, err := ParseWorkload("w.yaml", []byte("jobs:\n  - submit_at: 0s\n    duration: 1m\n    job:"+jobYAML))
	if err != nil {
		t.Fatal(err)
	}
	err = CheckQueues(c, w)
	if want := `w.yaml:9: jobs[0].job.spec.queue: queue "research" is not in the cluster's queues (ci, prod)`; err == nil || err.Error() != want {
		t.Errorf("CheckQueues = %v, want %s", err, want)
	}
}

func TestExamplesParse(t *testing.T) {
	c, w := readExample(t, "../../examples/sim/cluster.yaml", "../../examples/sim/workload.yaml")
	if len(c.Nodes) == 0 || len(w.Jobs) == 0 {
		t.Fatal("empty example")
	}
}

func readExample(t testing.TB, clusterFile, workloadFile string) (*Cluster, *Workload) {
	t.Helper()
	cb, err := os.ReadFile(clusterFile)
	if err != nil {
		t.Fatal(err)
	}
	wb, err := os.ReadFile(workloadFile)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ParseCluster(clusterFile, cb)
	if err != nil {
		t.Fatal(err)
	}
	w, err := ParseWorkload(workloadFile, wb)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckQueues(c, w); err != nil {
		t.Fatal(err)
	}
	return c, w
}
