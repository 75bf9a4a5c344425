package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Queues through the real binary: declared by --queues, listed, enforced at
// submit with the file and line, and preemption seen by the victim's owner.
func TestQueuesFromTheBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := buildPhalanx(t, dir)
	addr := freeAddr(t)
	startDev(t, bin, dir, addr, "--runtime", "exec", "--gpus", "mock:dgxa100",
		"--queues", filepath.Join("..", "..", "configs", "queues.yaml"))
	cli := cliAt(t, bin, addr)
	var out string
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out, "research") {
		if time.Now().After(deadline) {
			t.Fatalf("queue list never showed the configured queues:\n%s", out)
		}
		time.Sleep(100 * time.Millisecond)
		out, _, _ = cli("queue", "list")
	}
	for _, want := range []string{"ci", "default", "research", "0/32"} {
		if !strings.Contains(out, want) {
			t.Errorf("queue list lacks %q:\n%s", want, out)
		}
	}

	write := func(name, queue string, prio int) string {
		p := filepath.Join(dir, name+".yaml")
		body := "apiVersion: phalanx/v1\nkind: Job\nmetadata: {name: " + name + "}\nspec:\n  queue: " + queue +
			"\n  priority: " + strconv.Itoa(prio) + "\n  gang: true\n  groups:\n    - name: main\n      task:\n        image: none\n" +
			"        command: [sleep, \"300\"]\n        kill_timeout: 2s\n        resources: {cpu: 100m, memory: 16Mi, gpus: 8}\n"
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	_, errOut, code := cli("job", "run", write("lost", "nope", 10))
	if code == 0 || !strings.Contains(errOut, "lost.yaml:5: spec.queue: unknown queue \"nope\"; the queues are ci, default, research") {
		t.Fatalf("unknown queue: exit %d\n%s", code, errOut)
	}
	_, errOut, code = cli("job", "run", write("greedy", "ci", 90))
	if code == 0 || !strings.Contains(errOut, "greedy.yaml:6: spec.priority: 90 is above queue ci's max_priority of 60") {
		t.Fatalf("priority above the cap: exit %d\n%s", code, errOut)
	}

	// A low-priority gang holds all 8 GPUs; a job 40 points higher in the
	// same queue preempts it.
	out, errOut, code = cli("job", "run", write("low", "research", 10))
	if code != 0 {
		t.Fatalf("job run low: %s", errOut)
	}
	low := strings.TrimSpace(strings.TrimPrefix(strings.SplitN(out, "\n", 2)[0], "ID"))
	waitCLI(t, cli, "running", "job", "status", low)
	out, errOut, code = cli("job", "run", write("high", "research", 50))
	if code != 0 {
		t.Fatalf("job run high: %s", errOut)
	}
	high := strings.TrimSpace(strings.TrimPrefix(strings.SplitN(out, "\n", 2)[0], "ID"))
	waitCLI(t, cli, "running", "job", "status", high)
	out = waitCLI(t, cli, "preempted by job "+high, "job", "status", low)
	if !strings.Contains(out, "Events") || !strings.Contains(out, "State     queued") {
		t.Fatalf("the victim's status:\n%s", out)
	}
	cli("job", "cancel", low)
	cli("job", "cancel", high)
}

// waitCLI runs a command until its output contains want, and returns it.
func waitCLI(t *testing.T, cli func(...string) (string, string, int), want string, args ...string) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, _, _ := cli(args...)
		if strings.Contains(out, want) {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("%v never showed %q:\n%s", args, want, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
