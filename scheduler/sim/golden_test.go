package sim

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/phalanx-sched/phalanx/scheduler"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// goldenRuns are the simulations whose JSON output testdata/golden holds:
// the shipped examples under both policies, and the small cases in
// testdata.
var goldenRuns = []struct{ name, cluster, workload string }{
	{"examples", "../../examples/sim/cluster.yaml", "../../examples/sim/workload.yaml"},
	{"backfill", "testdata/backfill-cluster.yaml", "testdata/backfill-workload.yaml"},
	{"preempt", "testdata/preempt-cluster.yaml", "testdata/preempt-workload.yaml"},
}

func TestGolden(t *testing.T) {
	for _, run := range goldenRuns {
		for _, policy := range scheduler.Policies {
			t.Run(run.name+"-"+string(policy), func(t *testing.T) {
				c, w := readExample(t, run.cluster, run.workload)
				cfg := DefaultConfig()
				cfg.Policy = policy
				// Small clusters, run at the fine interval their docs
				// use (examples/sim/README.md), not DefaultInterval.
				cfg.Interval = time.Second
				res, err := Run(c, w, cfg)
				if err != nil {
					t.Fatal(err)
				}
				if len(res.Summary.Violations) > 0 {
					t.Errorf("violations:\n%s", res.Summary.Violations)
				}
				got := encodeResult(t, res)
				// Determinism: a second run gives the same bytes.
				again, _ := Run(c, w, cfg)
				if !bytes.Equal(got, encodeResult(t, again)) {
					t.Error("a second run of the same inputs gives different output")
				}
				file := filepath.Join("testdata", "golden", run.name+"-"+string(policy)+".json")
				if *update {
					if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(file, got, 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				want, err := os.ReadFile(file)
				if err != nil {
					t.Fatalf("%v (run go test ./scheduler/sim/ -run Golden -update to write it)", err)
				}
				if diff := cmp.Diff(string(want), string(got)); diff != "" {
					t.Errorf("%s differs (-want +got; -update rewrites it):\n%s", file, diff)
				}
			})
		}
	}
}

func encodeResult(t *testing.T, r *Result) []byte {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
