package pipeline

import (
	"fmt"
	"io/fs"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// files is a read function over an in-memory repository.
func files(m map[string]string) func(string) ([]byte, error) {
	return func(name string) ([]byte, error) {
		s, ok := m[name]
		if !ok {
			return nil, fmt.Errorf("open %s: %w", name, fs.ErrNotExist)
		}
		return []byte(s), nil
	}
}

func TestIncludes(t *testing.T) {
	repo := map[string]string{
		"ci/base.yml": "defaults: {image: base, timeout: 1m, env: {A: base, B: base}, resources: {cpu: 2}}\ninclude: [ci/deep.yml]\n",
		"ci/deep.yml": "defaults: {retry: {attempts: 2}, image: deep}\nsteps:\n  - {name: deep, commands: [x]}\n",
		"ci/lint.yml": "steps:\n  - {name: lint, image: own, needs: [test], resources: {memory: 1Gi}}\n",
	}
	main := "version: 1\ninclude: [ci/base.yml, ./ci/lint.yml]\ndefaults: {env: {B: main}}\nsteps:\n  - {name: test}\n"
	s, err := ParseWithIncludes(".phalanx.yml", []byte(main), files(repo))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"ci/base.yml", "ci/deep.yml", "ci/lint.yml"}, s.Includes); diff != "" {
		t.Errorf("Includes mismatch (-want +got):\n%s", diff)
	}
	type got struct {
		Name, Image, File string
		Env               map[string]string
		Timeout           time.Duration
		Attempts          int
		CPU, Memory       int64
	}
	var steps []got
	for _, st := range s.Steps {
		steps = append(steps, got{st.Name, st.Image, st.Pos.File, st.Env, st.Timeout, st.Retry.Attempts, st.Resources.CPUMilli, st.Resources.MemoryBytes})
	}
	env := map[string]string{"A": "base", "B": "main"}
	want := []got{
		{"test", "base", ".phalanx.yml", env, time.Minute, 2, 2000, 256 << 20},
		{"deep", "base", "ci/deep.yml", env, time.Minute, 2, 2000, 256 << 20},
		{"lint", "own", "ci/lint.yml", env, time.Minute, 2, 2000, 1 << 30},
	}
	if diff := cmp.Diff(want, steps); diff != "" {
		t.Errorf("steps mismatch (-want +got):\n%s", diff)
	}
}

func TestIncludeErrors(t *testing.T) {
	chain := map[string]string{}
	for i := range 10 {
		chain[fmt.Sprintf("c%d.yml", i)] = fmt.Sprintf("include: c%d.yml\n", i+1)
	}
	tests := []struct {
		name string
		main string
		repo map[string]string
		want []string
	}{
		{"errors in included file", "version: 1\ninclude: a.yml\nsteps: [{name: a, image: x}]\n",
			map[string]string{"a.yml": "steps:\n  - name: b\n    image: x\n    needs: [c]\nqueue: x\n"}, []string{
				`a.yml:4: steps[0].needs[0]: no step named "c"`,
				`a.yml:5: queue: unknown field; known fields here are include, defaults, steps`,
			}},
		{"cycle", "version: 1\ninclude: [a.yml]\n", map[string]string{"a.yml": "include: [b.yml]\n", "b.yml": "include: [a.yml, .phalanx.yml]\n"}, []string{
			`b.yml:1: include[0]: include cycle: .phalanx.yml -> a.yml -> b.yml -> a.yml`,
			`b.yml:1: include[1]: include cycle: .phalanx.yml -> a.yml -> b.yml -> .phalanx.yml`,
		}},
		{"too deep", "version: 1\ninclude: c0.yml\n", chain, []string{
			`c7.yml:1: include: includes nested more than 8 deep: .phalanx.yml -> c0.yml -> c1.yml -> c2.yml -> c3.yml -> c4.yml -> c5.yml -> c6.yml -> c7.yml -> c8.yml`,
		}},
		{"bad paths", "version: 1\ninclude: [/etc/passwd, ../x.yml, missing.yml, '', a.yml, a.yml]\n", map[string]string{"a.yml": "{}"}, []string{
			`.phalanx.yml:2: include[0]: must be a path inside the repository, relative to its root, got "/etc/passwd"`,
			`.phalanx.yml:2: include[1]: must be a path inside the repository, relative to its root, got "../x.yml"`,
			`.phalanx.yml:2: include[2]: cannot read "missing.yml": open missing.yml: file does not exist`,
			`.phalanx.yml:2: include[3]: must not be empty`,
			`.phalanx.yml:2: include[5]: "a.yml" is included twice`,
		}},
		{"duplicate step across files", "version: 1\ninclude: a.yml\nsteps: [{name: a, image: x}]\n",
			map[string]string{"a.yml": "\nsteps: [{name: a, image: x}]\n"}, []string{
				`a.yml:2: steps[0].name: step name "a" is already used by the step at .phalanx.yml:3`,
			}},
		{"syntax in included file", "version: 1\ninclude: a.yml\n", map[string]string{"a.yml": "steps: [\n"}, []string{
			`a.yml:2: syntax error: did not find expected node content`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseWithIncludes(".phalanx.yml", []byte(tt.main), files(tt.repo))
			if err == nil {
				t.Fatal("ParseWithIncludes succeeded, want errors")
			}
			if diff := cmp.Diff(tt.want, errorLines(t, err)); diff != "" {
				t.Errorf("errors mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
