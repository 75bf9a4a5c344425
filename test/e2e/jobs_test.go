package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/phalanx-sched/phalanx/api"
)

func TestHelloAndGangRunToSuccess(t *testing.T) {
	c := startCluster(t, options{})

	hello := c.submit("hello.yaml", example(t, "hello.yaml"))
	st := c.waitDone(hello)
	if st.State != api.JobSucceeded {
		t.Fatalf("hello: %s (%s)", st.State, st.Reason)
	}
	if a := st.Allocations[0]; a.ExitCode == nil || *a.ExitCode != 0 || a.Node != "dev-node" {
		t.Fatalf("hello allocation: %+v", a)
	}
	if got, want := c.logs(hello, ""), "hello from "+hello; !strings.Contains(got, want) {
		t.Fatalf("hello logs %q do not contain %q", got, want)
	}

	gang := c.submit("gang.yaml", example(t, "gang.yaml"))
	st = c.waitDone(gang)
	if st.State != api.JobSucceeded || len(st.Allocations) != 2 {
		t.Fatalf("gang: %s (%s), %d allocations", st.State, st.Reason, len(st.Allocations))
	}
	for _, a := range st.Allocations {
		want := fmt.Sprintf("rank %d of 2", a.Index)
		if got := c.logs(gang, a.ID); !strings.Contains(got, want) {
			t.Errorf("member %d logs %q do not contain %q", a.Index, got, want)
		}
	}
}

func TestFailingJobReportsExitCode(t *testing.T) {
	c := startCluster(t, options{})
	id := c.submit("fail.yaml", example(t, "fail.yaml"))
	st := c.waitDone(id)
	if st.State != api.JobFailed {
		t.Fatalf("state %s, want failed", st.State)
	}
	a := st.Allocations[0]
	if a.ExitCode == nil || *a.ExitCode != 3 || a.State != api.AllocFailed {
		t.Fatalf("allocation %+v, want failed with exit 3", a)
	}
	if !strings.Contains(st.Reason, "exited with code 3") {
		t.Errorf("reason %q does not give the exit code", st.Reason)
	}
}

func TestMissingImageFailsClearly(t *testing.T) {
	c := startCluster(t, options{})
	job := `apiVersion: phalanx/v1
kind: Job
metadata: {name: no-image}
spec:
  groups:
    - name: main
      task: {image: "phalanx/not-here:1", command: [true], resources: {cpu: 100m, memory: 16Mi}}
`
	st := c.waitDone(c.submit("no-image.yaml", []byte(job)))
	if st.State != api.JobFailed || !strings.Contains(st.Allocations[0].Message, "phalanx/not-here:1") {
		t.Fatalf("state %s, message %q: want a failure naming the image", st.State, st.Allocations[0].Message)
	}
}

func TestCancelStopsRunningContainer(t *testing.T) {
	c := startCluster(t, options{})
	id := c.submit("sleep.yaml", example(t, "sleep.yaml"))
	c.wait(id, 30*time.Second, func(s *api.JobStatus) bool {
		return len(s.Allocations) == 1 && s.Allocations[0].State == api.AllocRunning
	})
	// The trap in sleep.yaml prints when SIGTERM arrives; wait until the
	// shell has set it up.
	c.waitLogs(id, "sleeping", 10*time.Second)
	start := time.Now()
	if _, err := c.client.CancelJob(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	st := c.wait(id, 30*time.Second, func(s *api.JobStatus) bool { return s.Allocations[0].State.Terminal() })
	if st.State != api.JobCancelled || st.Allocations[0].State != api.AllocStopped {
		t.Fatalf("after cancel: job %s, alloc %s", st.State, st.Allocations[0].State)
	}
	if code := st.Allocations[0].ExitCode; code == nil || *code != 143 {
		t.Errorf("exit code %v, want 143 from the SIGTERM trap", code)
	}
	if took := time.Since(start); took > 9*time.Second {
		t.Errorf("stop took %v: SIGTERM did not reach the task before the kill timeout", took)
	}
	if got := c.logs(id, ""); !strings.Contains(got, "got SIGTERM") {
		t.Errorf("logs %q: the task did not see SIGTERM", got)
	}
}

func TestLogsFollowLive(t *testing.T) {
	c := startCluster(t, options{})
	job := `apiVersion: phalanx/v1
kind: Job
metadata: {name: ticker}
spec:
  groups:
    - name: main
      task:
        image: phalanx/busybox:latest
        command: [sh, -c, "for i in 1 2 3 4 5; do echo tick $i; sleep 0.4; done"]
        resources: {cpu: 100m, memory: 16Mi}
`
	id := c.submit("ticker.yaml", []byte(job))
	// Follow from before the job is even placed.
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- c.client.Logs(context.Background(), id, "", true, pw)
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	if !sc.Scan() || sc.Text() != "tick 1" {
		t.Fatalf("first followed line %q", sc.Text())
	}
	// The first line arrived while the task still runs: it was live.
	if st, _ := c.client.Job(context.Background(), id); st.State != api.JobRunning {
		t.Errorf("first line arrived only when the job was %s", st.State)
	}
	var rest []string
	for sc.Scan() {
		rest = append(rest, sc.Text())
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if want := []string{"tick 2", "tick 3", "tick 4", "tick 5"}; strings.Join(rest, "|") != strings.Join(want, "|") {
		t.Fatalf("followed %q, want %q", rest, want)
	}
}

func TestUnplaceableJobWaitsWithReasonThenRuns(t *testing.T) {
	c := startCluster(t, options{memory: 64 << 20})
	mk := func(name, mem, cmd string) []byte {
		return []byte(fmt.Sprintf(`apiVersion: phalanx/v1
kind: Job
metadata: {name: %s}
spec:
  groups:
    - name: main
      task: {image: phalanx/busybox:latest, command: [sh, -c, %q], resources: {cpu: 100m, memory: %s}}
`, name, cmd, mem))
	}
	big := c.submit("big.yaml", mk("big", "128Mi", "true"))
	st := c.wait(big, 10*time.Second, func(s *api.JobStatus) bool { return strings.Contains(s.Reason, "memory") })
	if st.State != api.JobQueued {
		t.Fatalf("too-big job is %s", st.State)
	}
	t.Logf("too-big job waits: %s", st.Reason)

	first := c.submit("first.yaml", mk("first", "48Mi", "sleep 2"))
	c.wait(first, 30*time.Second, func(s *api.JobStatus) bool { return s.State == api.JobRunning })
	second := c.submit("second.yaml", mk("second", "48Mi", "true"))
	st = c.wait(second, 10*time.Second, func(s *api.JobStatus) bool { return strings.Contains(s.Reason, "not enough memory") })
	if st.State != api.JobQueued {
		t.Fatalf("second job is %s while the first holds the memory", st.State)
	}
	if st := c.waitDone(second); st.State != api.JobSucceeded {
		t.Fatalf("second job: %s (%s)", st.State, st.Reason)
	}
	if st := c.waitDone(first); st.State != api.JobSucceeded {
		t.Fatalf("first job: %s", st.State)
	}
	if st, _ := c.client.Job(context.Background(), big); st.State != api.JobQueued {
		t.Fatalf("too-big job is %s", st.State)
	}
}

func TestServerRestartKeepsJobs(t *testing.T) {
	dir := t.TempDir()
	c := startCluster(t, options{dir: dir})
	id := c.submit("hello.yaml", example(t, "hello.yaml"))
	if st := c.waitDone(id); st.State != api.JobSucceeded {
		t.Fatalf("hello: %s", st.State)
	}
	c.stop()

	c2 := startCluster(t, options{dir: dir, raft: c.raft})
	jobs, err := c2.client.Jobs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 1 || jobs[0].ID != id || jobs[0].State != api.JobSucceeded || len(jobs[0].Allocations) != 1 {
		t.Fatalf("after restart: %+v", jobs)
	}
	// Logs were kept by the agent, across its restart too.
	if got := c2.logs(id, ""); !strings.Contains(got, "hello from") {
		t.Fatalf("logs after restart: %q", got)
	}
	// And the restarted cluster still runs work.
	if st := c2.waitDone(c2.submit("hello.yaml", example(t, "hello.yaml"))); st.State != api.JobSucceeded {
		t.Fatalf("hello after restart: %s", st.State)
	}
}

func TestBadRequestsDoNotDisturbTheServer(t *testing.T) {
	c := startCluster(t, options{runtime: "exec"})
	url := "http://" + c.addr + "/v1/jobs"

	// Over the request cap (4 MiB), and over the job file limit (1 MiB).
	for _, size := range []int{5 << 20, 2 << 20} {
		resp, err := http.Post(url, "application/yaml", bytes.NewReader(make([]byte, size)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("%d MiB body: status %d, want 413", size>>20, resp.StatusCode)
		}
	}

	bad := "apiVersion: phalanx/v1\nkind: Job\nmetadata: {name: x}\nspec:\n  groups:\n    - name: w\n      task: {image: i, resources: {gpus: -2}}\n"
	_, err := c.client.SubmitJob(context.Background(), "job.yaml", []byte(bad), "")
	if !isStatus(err, http.StatusBadRequest) {
		t.Fatalf("bad job: %v, want 400", err)
	}
	if want := "job.yaml:7: spec.groups[0].task.resources.gpus: must be >= 0, got -2"; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not contain %q", err, want)
	}
	if _, err := c.client.Job(context.Background(), "nope-nope"); !isStatus(err, http.StatusNotFound) {
		t.Errorf("unknown job: %v, want 404", err)
	}

	job := "apiVersion: phalanx/v1\nkind: Job\nmetadata: {name: ok}\nspec:\n  groups:\n    - name: w\n      task: {image: none, command: [sh, -c, 'echo fine'], resources: {cpu: 100m, memory: 16Mi}}\n"
	st := c.waitDone(c.submit("ok.yaml", []byte(job)))
	if st.State != api.JobSucceeded {
		t.Fatalf("job after bad requests: %s (%s)", st.State, st.Reason)
	}
}

func (c *cluster) waitLogs(id, want string, timeout time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		var b strings.Builder
		_ = c.client.Logs(context.Background(), id, "", false, &b)
		if strings.Contains(b.String(), want) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.t.Fatalf("logs of %s never showed %q", id, want)
}
