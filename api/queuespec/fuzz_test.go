package queuespec

import (
	"errors"
	"testing"

	"github.com/phalanx-sched/phalanx/api/jobspec"
)

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"queues:\n  - name: a\n",
		"queues:\n  - {name: r, weight: 3, quota: {cpu: 64, memory: 1Gi, gpus: 8}, max_priority: 50, borrow: false}\n",
		"queues: []\n", "queues: {}\n", "", "- a", "queues:\n  - name: a\n  - name: a\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		qs, err := Parse("q.yaml", data)
		if err != nil {
			var errs jobspec.Errors
			if !errors.As(err, &errs) || len(errs) == 0 {
				t.Fatalf("error is not a non-empty jobspec.Errors: %v", err)
			}
			for _, e := range errs {
				if e.File != "q.yaml" || e.Line < 0 || e.Msg == "" {
					t.Fatalf("malformed error %+v", e)
				}
			}
			return
		}
		seen := map[string]bool{}
		for _, q := range qs {
			if q.Name == "" || seen[q.Name] || q.Weight < 1 || q.Weight > MaxWeight {
				t.Fatalf("accepted a bad queue: %+v", q)
			}
			seen[q.Name] = true
			if q.MaxPriority != nil && (*q.MaxPriority < 0 || *q.MaxPriority > jobspec.MaxPriority) {
				t.Fatalf("accepted max_priority %d", *q.MaxPriority)
			}
		}
	})
}
