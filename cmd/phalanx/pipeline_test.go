package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPipelineLint(t *testing.T) {
	var out, errb bytes.Buffer
	code := run([]string{"pipeline", "lint", filepath.Join("..", "..", "examples", "pipelines", "go.phalanx.yml"), "--branch", "main"}, &out, &errb)
	if code != 0 || !strings.Contains(out.String(), "package (after lint, build)") {
		t.Fatalf("exit %d\n%s%s", code, out.String(), errb.String())
	}

	dir := t.TempDir()
	bad := filepath.Join(dir, ".phalanx.yml")
	os.WriteFile(bad, []byte("version: 1\nsteps:\n  - name: a\n    image: x\n    needs: [b]\n  - name: b\n    image: x\n    needs: [a]\n    comands: [x]\n"), 0o644)
	out.Reset()
	errb.Reset()
	code = run([]string{"pipeline", "lint", bad}, &out, &errb)
	want := []string{bad + ":8: steps[1].needs[0]: cycle: a -> b -> a", bad + `:9: steps[1].comands: unknown field, did you mean "commands"?`}
	if code != 1 || strings.TrimSpace(errb.String()) != strings.Join(want, "\n") {
		t.Fatalf("exit %d, stderr:\n%s\nwant:\n%s", code, errb.String(), strings.Join(want, "\n"))
	}
}
