package jobspec

import (
	"os"
	"path/filepath"
	"testing"
)

// TestExamples parses every job file under examples/jobs.
func TestExamples(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "examples", "jobs", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no examples found under ../../examples/jobs")
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			spec, err := Parse(file, data)
			if err != nil {
				t.Fatalf("Parse:\n%v", err)
			}
			checkInvariants(t, spec)
		})
	}
}
