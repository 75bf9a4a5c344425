package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/phalanx-sched/phalanx/internal/testutil"
)

// TestDevClusterFromTheBinary builds phalanx, starts `phalanx dev` and
// uses the CLI against it as a user would.
func TestDevClusterFromTheBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	testutil.Docker(t) // the dev cluster below uses the Docker runtime and the example image
	dir := t.TempDir()
	bin := buildPhalanx(t, dir)
	addr := freeAddr(t)
	dev, exited, banner := startDev(t, bin, dir, addr, "--runtime", "docker", "--gpus", "mock:dgxa100")
	if !strings.Contains(banner, "runtime docker") || !strings.Contains(banner, "8 (mock) GPUs") {
		t.Errorf("banner:\n%s", banner)
	}

	cli := cliAt(t, bin, addr)
	examples := filepath.Join("..", "..", "examples", "jobs")

	out, progress, code := cli("job", "run", filepath.Join(examples, "hello.yaml"), "--wait")
	if code != 0 || !strings.Contains(out, "succeeded") {
		t.Fatalf("job run hello --wait: exit %d\n%s\n%s", code, out, progress)
	}
	if !strings.Contains(progress, "submitted hello-") || !strings.Contains(progress, "succeeded") {
		t.Errorf("no progress shown while waiting:\n%s", progress)
	}
	id := strings.TrimSpace(strings.TrimPrefix(strings.SplitN(out, "\n", 2)[0], "ID"))

	out, _, code = cli("job", "status", id, "-o", "json")
	var st map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &st) != nil {
		t.Fatalf("job status -o json: exit %d\n%s", code, out)
	}
	for _, k := range []string{"id", "name", "queue", "priority", "state", "reason", "allocations"} {
		if _, ok := st[k]; !ok {
			t.Errorf("status JSON lacks %q", k)
		}
	}
	alloc := st["allocations"].([]any)[0].(map[string]any)
	var keys []string
	for k := range alloc {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range []string{"exit_code", "gpus", "group", "id", "index", "node", "state"} {
		if _, ok := alloc[k]; !ok {
			t.Errorf("allocation JSON lacks %q (has %v)", k, keys)
		}
	}
	if st["state"] != "succeeded" || alloc["exit_code"] != 0.0 {
		t.Errorf("status: state %v exit_code %v", st["state"], alloc["exit_code"])
	}

	if out, _, code = cli("job", "logs", id); code != 0 || !strings.Contains(out, "hello from "+id) {
		t.Errorf("job logs: exit %d %q", code, out)
	}

	out, _, code = cli("job", "run", filepath.Join(examples, "fail.yaml"), "--wait")
	if code != 1 || !strings.Contains(out, "exited with code 3") {
		t.Errorf("job run fail --wait: exit %d, want 1\n%s", code, out)
	}

	// The GPU gang: each member sees exactly its own mock GPU.
	out, _, code = cli("job", "run", filepath.Join(examples, "gpu-train.yaml"), "--wait", "-o", "json")
	var gst struct {
		ID          string
		Allocations []struct{ GPUs []string }
	}
	if code != 0 || json.Unmarshal([]byte(out), &gst) != nil || len(gst.Allocations) != 2 {
		t.Fatalf("gpu-train: exit %d\n%s", code, out)
	}
	a, b := gst.Allocations[0].GPUs, gst.Allocations[1].GPUs
	if len(a) != 1 || len(b) != 1 || a[0] == b[0] {
		t.Errorf("gang members' GPUs %v and %v: want one distinct GPU each", a, b)
	}

	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("apiVersion: phalanx/v1\nkind: Job\nmetadata: {name: Bad_Name}\nspec:\n  groups: []\n"), 0o644)
	_, errOut, code := cli("job", "validate", bad)
	if code != 1 || !strings.Contains(errOut, bad+":3: metadata.name:") {
		t.Errorf("job validate bad file: exit %d\n%s", code, errOut)
	}
	if _, errOut, code = cli("job", "run", bad); code != 1 || !strings.Contains(errOut, bad+":5: spec.groups:") {
		t.Errorf("job run bad file: exit %d\n%s", code, errOut)
	}

	out, _, code = cli("node", "list")
	if code != 0 || !strings.Contains(out, "docker") || !strings.Contains(out, "8 (mock)") {
		t.Errorf("node list: exit %d\n%s", code, out)
	}
	out, _, _ = cli("job", "list", "-o", "json")
	var jobs []map[string]any
	if err := json.Unmarshal([]byte(out), &jobs); err != nil || len(jobs) != 3 {
		t.Errorf("job list: %v, %d jobs\n%s", err, len(jobs), out)
	}
	if _, errOut, code = cli("job", "frobnicate"); code != 2 || !strings.Contains(errOut, "unknown job subcommand") {
		t.Errorf("unknown subcommand: exit %d %q", code, errOut)
	}

	// Ctrl-C stops the dev cluster cleanly.
	dev.Process.Signal(syscall.SIGINT)
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("phalanx dev after SIGINT: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Error("phalanx dev did not stop on SIGINT")
	}
}

// buildPhalanx builds the binary into dir.
func buildPhalanx(t testing.TB, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "phalanx")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// startDev starts `phalanx dev` on addr with state in dir and waits until
// it says it is ready, returning what it printed. The process is killed
// when the test ends.
func startDev(t testing.TB, bin, dir, addr string, extra ...string) (*exec.Cmd, <-chan error, string) {
	t.Helper()
	args := append([]string{"dev", "--data-dir", filepath.Join(dir, "data"), "--http-addr", addr,
		"--raft-addr", freeAddr(t)}, extra...)
	dev := exec.Command(bin, args...)
	stdout, err := dev.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var devErr bytes.Buffer
	dev.Stderr = &devErr
	if err := dev.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- dev.Wait() }()
	t.Cleanup(func() {
		dev.Process.Kill()
		if t.Failed() {
			t.Logf("phalanx dev stderr:\n%s", devErr.String())
		}
	})
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		var seen []string
		for sc.Scan() {
			seen = append(seen, sc.Text())
			if strings.Contains(sc.Text(), "phalanx dev: try") {
				ready <- strings.Join(seen, "\n")
			}
		}
	}()
	select {
	case banner := <-ready:
		return dev, exited, banner
	case err := <-exited:
		t.Fatalf("phalanx dev exited: %v\n%s", err, devErr.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("phalanx dev did not start\n%s", devErr.String())
	}
	return nil, nil, ""
}

func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// cliAt returns a function that runs the binary's CLI against addr and
// gives its stdout, stderr and exit code.
func cliAt(t *testing.T, bin, addr string) func(args ...string) (string, string, int) {
	return func(args ...string) (string, string, int) {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "PHALANX_ADDR="+addr)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return out.String(), errb.String(), code
	}
}
