package queuespec

import (
	"os"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	qs, err := Parse("q.yaml", []byte(`queues:
  - name: research
    weight: 3
    quota: {cpu: 64, memory: 512Gi, gpus: 16}
    max_priority: 80
    borrow: false
  - name: ci
`))
	if err != nil {
		t.Fatal(err)
	}
	if len(qs) != 2 {
		t.Fatalf("got %d queues", len(qs))
	}
	r := qs[0]
	if r.Name != "research" || r.Weight != 3 || r.Borrow || *r.MaxPriority != 80 ||
		*r.Quota.CPUMilli != 64000 || *r.Quota.MemoryBytes != 512<<30 || *r.Quota.GPUs != 16 {
		t.Errorf("research: %+v", r)
	}
	c := qs[1]
	if c.Name != "ci" || c.Weight != 1 || !c.Borrow || c.MaxPriority != nil || !c.Quota.IsZero() {
		t.Errorf("ci takes the defaults: %+v", c)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []string
	}{
		{"empty", "queues: []\n", []string{"q.yaml:1: queues: at least one queue is required"}},
		{"all problems at once", `queues:
  - name: Research
    weight: 0
  - name: ci
    quota: {gpus: -1, cpu: lots}
    max_priority: 101
  - name: ci
`, []string{
			"q.yaml:2: queues[0].name: must be a DNS label",
			"q.yaml:3: queues[0].weight: must be >= 1, got 0",
			"q.yaml:5: queues[1].quota.gpus: must be >= 0, got -1",
			"q.yaml:5: queues[1].quota.cpu:",
			"q.yaml:6: queues[1].max_priority: must be <= 100, got 101",
			"q.yaml:7: queues[2].name: queue ci is already defined by queues[1]",
		}},
		{"unknown field", "queues:\n  - name: a\n    wieght: 2\n", []string{"q.yaml:3: queues[0].wieght: unknown field", `did you mean "weight"`}},
		{"missing name", "queues:\n  - weight: 2\n", []string{"q.yaml:2: queues[0].name: required"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("q.yaml", []byte(tc.in))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not contain %q:\n%v", w, err)
				}
			}
		})
	}
}

// The shipped example parses.
func TestConfigsQueuesParses(t *testing.T) {
	b, err := os.ReadFile("../../configs/queues.yaml")
	if err != nil {
		t.Fatal(err)
	}
	qs, err := Parse("configs/queues.yaml", b)
	if err != nil {
		t.Fatal(err)
	}
	if len(qs) != 3 || qs[1].Name != "research" || *qs[2].Quota.GPUs != 8 {
		t.Fatalf("%+v", qs)
	}
}
