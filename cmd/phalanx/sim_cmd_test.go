package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSimCommand(t *testing.T) {
	args := []string{"sim", "--cluster", "../../examples/sim/cluster.yaml", "--workload", "../../examples/sim/workload.yaml"}
	var out, errOut bytes.Buffer
	if code := run(append(args, "-o", "json", "--policy", "fifo"), &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	var res struct {
		Jobs []struct {
			Name    string   `json:"name"`
			Started *float64 `json:"started_s"`
		} `json:"jobs"`
		Summary struct {
			Policy     string   `json:"policy"`
			Violations []string `json:"violations"`
		} `json:"summary"`
	}
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if res.Summary.Policy != "fifo" || res.Summary.Violations == nil || len(res.Summary.Violations) > 0 || len(res.Jobs) == 0 {
		t.Errorf("summary %+v, %d jobs", res.Summary, len(res.Jobs))
	}

	out.Reset()
	if code := run(args, &out, &errOut); code != 0 || !strings.Contains(out.String(), "QUEUE") || !strings.Contains(out.String(), "violations: none") {
		t.Errorf("exit %d, table:\n%s", code, out.String())
	}
}

func TestSimCommandErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "w.yaml")
	if err := os.WriteFile(bad, []byte("jobs:\n  - submit_at: soon\n    duration: 1m\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"sim"}, 2, "sim needs --cluster and --workload"},
		{[]string{"sim", "--cluster", "c", "--workload", "w", "--policy", "lottery"}, 2, `unknown scheduling policy "lottery"`},
		{[]string{"sim", "--cluster", "../../examples/sim/cluster.yaml", "--workload", bad}, 1,
			bad + `:2: jobs[0].submit_at: must be a duration such as "0s", "90s", "30m" or "2h", got "soon"` + "\n" +
				bad + ":2: jobs[0].job: required: a job file's contents (apiVersion, kind, metadata, spec)"},
	} {
		var out, errOut bytes.Buffer
		code := run(tc.args, &out, &errOut)
		if code != tc.code || !strings.Contains(errOut.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr:\n%s\nwant exit %d and %s", tc.args, code, errOut.String(), tc.code, tc.want)
		}
	}
}
