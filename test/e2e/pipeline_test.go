package e2e

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/phalanx-sched/phalanx/api"
)

const e2eHookSecret = "e2e webhook secret"

// diamond is a pipeline whose steps share the checked-out workspace: one
// step, two side by side, then one that reads what both wrote.
const diamond = `version: 1
on: {push: {branches: [main]}}
defaults:
  image: phalanx/busybox:latest
  resources: {cpu: 0.25, memory: 64Mi}
steps:
  - name: prepare
    commands:
      - cat /workspace/hello.txt
      - echo prepared > /workspace/prepared.txt
  - name: left
    needs: [prepare]
    commands:
      - cat /workspace/prepared.txt
      - echo left > /workspace/left.txt
  - name: right
    needs: [prepare]
    secrets: [DEPLOY_TOKEN]
    commands:
      - echo "token is $DEPLOY_TOKEN"
      - sleep 2
      - echo right > /workspace/right.txt
  - name: report
    needs: [left, right]
    commands:
      - cat /workspace/left.txt /workspace/right.txt
`

// gitRepo is a real repository in a temp dir, served over file://.
type gitRepo struct {
	t   testing.TB
	dir string
}

func newGitRepo(t testing.TB, files map[string]string) *gitRepo {
	t.Helper()
	g := &gitRepo{t: t, dir: t.TempDir()}
	g.git("init", "-q", "-b", "main")
	// As GitHub, GitLab and Gitea do: lets the server fetch the commit a
	// push replaced, to list the files it changed.
	g.git("config", "uploadpack.allowReachableSHA1InWant", "true")
	for name, content := range files {
		g.write(name, content)
	}
	g.git("commit", "-q", "-m", "first")
	return g
}

func (g *gitRepo) git(args ...string) string {
	g.t.Helper()
	out, err := exec.Command("git", append([]string{"-C", g.dir, "-c", "user.name=t", "-c", "user.email=t@example.com"}, args...)...).CombinedOutput()
	if err != nil {
		g.t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func (g *gitRepo) write(name, content string) {
	g.t.Helper()
	if err := os.WriteFile(filepath.Join(g.dir, name), []byte(content), 0o644); err != nil {
		g.t.Fatal(err)
	}
	g.git("add", name)
}

// commit changes a file and commits; it returns the old and new heads.
func (g *gitRepo) commit(name, content string) (before, after string) {
	g.t.Helper()
	before = g.git("rev-parse", "HEAD")
	g.write(name, content)
	g.git("commit", "-q", "-m", "change "+name)
	return before, g.git("rev-parse", "HEAD")
}

// pushHook posts a GitHub push delivery, signed, to the cluster's real
// HTTP API, as GitHub would, and returns the run it started.
func (c *cluster) pushHook(repo, delivery, before, after string) string {
	c.t.Helper()
	body, _ := json.Marshal(map[string]any{
		"ref": "refs/heads/main", "before": before, "after": after,
		"repository":  map[string]any{"full_name": "acme/" + repo, "clone_url": "https://example.com/acme/app.git"},
		"head_commit": map[string]any{"id": after}, "commits": []any{},
	})
	req, _ := http.NewRequest(http.MethodPost, "http://"+c.addr+"/v1/hooks/github?repo="+repo, bytes.NewReader(body))
	req.Header.Set("X-GitHub-Event", "push")
	req.Header.Set("X-GitHub-Delivery", delivery)
	mac := hmac.New(sha256.New, []byte(e2eHookSecret))
	mac.Write(body)
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var res api.HookResult
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &res); err != nil || resp.StatusCode != http.StatusAccepted || res.Run == "" {
		c.t.Fatalf("hook: %d %s", resp.StatusCode, b)
	}
	return res.Run
}

// waitRun waits, on the server's state changes, until cond holds.
func (c *cluster) waitRun(id string, timeout time.Duration, cond func(*api.Run) bool) *api.Run {
	c.t.Helper()
	deadline := time.After(timeout)
	for {
		changed := c.srv.State().Changed()
		r, err := c.srv.Run(id)
		if err != nil {
			c.t.Fatal(err)
		}
		if cond(r) {
			return r
		}
		select {
		case <-changed:
		case <-deadline:
			c.t.Fatalf("run %s: condition not met within %v; last %+v", id, timeout, r)
		}
	}
}

func (c *cluster) addRepo(name, dir string) {
	c.t.Helper()
	if _, err := c.client.PutRepo(context.Background(), api.RepoRequest{Name: name, URL: "file://" + dir, WebhookSecret: e2eHookSecret}); err != nil {
		c.t.Fatal(err)
	}
}

func TestPushRunsPipelineDAGInDocker(t *testing.T) {
	c := startCluster(t, options{})
	ctx := context.Background()
	repo := newGitRepo(t, map[string]string{".phalanx.yml": diamond, "hello.txt": "hello from the repo\n"})
	c.addRepo("app", repo.dir)
	if err := c.client.SetSecret(ctx, "app", "DEPLOY_TOKEN", "s3cr3t-value"); err != nil {
		t.Fatal(err)
	}
	before, after := repo.commit("hello.txt", "hello from commit two\n")
	id := c.pushHook("app", "delivery-1", before, after)

	// While right runs, the node's allocations show its secret masked.
	running := c.waitRun(id, 60*time.Second, func(r *api.Run) bool {
		return r.State.Terminal() || (r.Step("right") != nil && r.Step("right").State == api.RunRunning)
	})
	if running.State.Terminal() {
		t.Fatalf("run ended before right ran: %s (%s) %+v", running.State, running.Message, running.Steps)
	}
	resp, err := http.Get("http://" + c.addr + "/v1/nodes/dev-node")
	if err != nil {
		t.Fatal(err)
	}
	node, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var detail api.NodeDetail
	if err := json.Unmarshal(node, &detail); err != nil {
		t.Fatalf("node status: %v\n%s", err, node)
	}
	masked := false
	for _, a := range detail.Allocations {
		masked = masked || a.Task.Env["DEPLOY_TOKEN"] == "***"
	}
	if bytes.Contains(node, []byte("s3cr3t-value")) || !masked {
		t.Fatalf("node status does not mask the secret: %s", node)
	}

	run := c.waitRun(id, 90*time.Second, func(r *api.Run) bool { return r.State.Terminal() })
	if run.State != api.RunSucceeded || run.Commit != after || run.NodeName != "dev-node" {
		t.Fatalf("run %s (%s) at %s on %s: %+v", run.State, run.Message, run.Commit, run.NodeName, run.Steps)
	}
	prepare, left, right, report := run.Step("prepare"), run.Step("left"), run.Step("right"), run.Step("report")
	for _, st := range []*api.RunStep{prepare, left, right, report} {
		if st.State != api.RunSucceeded || st.ExitCode == nil || *st.ExitCode != 0 || st.StartTime.IsZero() {
			t.Fatalf("step %s: %+v", st.Name, st)
		}
	}
	// DAG order: left and right after prepare, report after both.
	if left.StartTime.Before(prepare.FinishTime) || right.StartTime.Before(prepare.FinishTime) ||
		report.StartTime.Before(left.FinishTime) || report.StartTime.Before(right.FinishTime) {
		t.Errorf("steps ran out of order: %+v", run.Steps)
	}
	// left and right overlapped: right sleeps 2s, left does not.
	if !left.StartTime.Before(right.FinishTime) {
		t.Errorf("left did not run beside right: left %v-%v, right %v-%v", left.StartTime, left.FinishTime, right.StartTime, right.FinishTime)
	}
	logs := func(step string) string {
		var b strings.Builder
		if err := c.client.StepLogs(ctx, id, step, false, &b); err != nil {
			t.Fatalf("logs of %s: %v", step, err)
		}
		return b.String()
	}
	for step, want := range map[string]string{
		"prepare": "hello from commit two", // the pushed commit is checked out in /workspace
		"left":    "prepared",              // what an earlier step wrote there
		"right":   "token is ***",          // the secret, masked
		"report":  "left\nright",
	} {
		if got := logs(step); !strings.Contains(got, want) {
			t.Errorf("logs of %s = %q, want %q in them", step, got, want)
		}
	}
	if strings.Contains(logs("right"), "s3cr3t-value") {
		t.Error("the secret's value is in the logs")
	}
	// A redelivery starts nothing.
	runs, _ := c.client.Runs(ctx, "app")
	if len(runs) != 1 {
		t.Fatalf("%d runs", len(runs))
	}
}

func TestFailingStepSkipsDependantsInDocker(t *testing.T) {
	c := startCluster(t, options{})
	repo := newGitRepo(t, map[string]string{".phalanx.yml": `version: 1
on: {push: {}}
defaults: {image: phalanx/busybox:latest, resources: {cpu: 0.25, memory: 64Mi}}
steps:
  - name: build
    commands: ["echo failing; exit 3"]
    retry: {attempts: 1, on_exit_codes: [3]}
  - name: deploy
    needs: [build]
    commands: [echo deploy]
  - name: cleanup
    needs: [build]
    when: {status: failure}
    commands: [echo cleaning up]
`})
	c.addRepo("app", repo.dir)
	before, after := repo.commit("README", "x")
	id := c.pushHook("app", "d-fail", before, after)
	run := c.waitRun(id, 90*time.Second, func(r *api.Run) bool { return r.State.Terminal() })
	got := fmt.Sprintf("%s build=%s/%d deploy=%s cleanup=%s", run.State, run.Step("build").State, len(run.Step("build").JobIDs),
		run.Step("deploy").State, run.Step("cleanup").State)
	if want := "failed build=failed/2 deploy=skipped cleanup=succeeded"; got != want {
		t.Fatalf("got %s, want %s (%+v)", got, want, run.Steps)
	}
	if ec := run.Step("build").ExitCode; ec == nil || *ec != 3 {
		t.Fatalf("build exit code %v", ec)
	}
}

// BenchmarkWebhookToRunning pushes a commit and posts its GitHub delivery
// to a dev cluster with the Docker runtime, one at a time, and reports the
// median time from sending the delivery to the run's first step running
// in its container (fetching .phalanx.yml, compiling, picking the node,
// submitting, placing, checking out the workspace and starting included).
func BenchmarkWebhookToRunning(b *testing.B) {
	c := startCluster(b, options{})
	repo := newGitRepo(b, map[string]string{".phalanx.yml": `version: 1
on: {push: {}}
steps:
  - name: first
    image: phalanx/busybox:latest
    resources: {cpu: 0.25, memory: 64Mi}
    commands: [echo first]
`})
	c.addRepo("app", repo.dir)
	var toCompiled, toPlaced, took []time.Duration
	for i := 0; i < b.N+1; i++ { // the first is a warm-up
		before, after := repo.commit("n.txt", fmt.Sprint(i))
		start := time.Now()
		id := c.pushHook("app", fmt.Sprintf("bench-%d", i), before, after)
		var compiled, placed time.Duration
		c.waitRun(id, 60*time.Second, func(r *api.Run) bool {
			if r.Compiled && compiled == 0 {
				compiled = time.Since(start)
			}
			st := r.Steps
			if len(st) > 0 && placed == 0 && st[0].JobID() != "" {
				if allocs := c.srv.State().Snapshot().JobAllocs(st[0].JobID()); len(allocs) > 0 {
					placed = time.Since(start)
				}
			}
			return r.State.Terminal() || (len(st) > 0 && (st[0].State == api.RunRunning || st[0].State.Terminal()))
		})
		if i > 0 {
			took = append(took, time.Since(start))
			toCompiled = append(toCompiled, compiled)
			toPlaced = append(toPlaced, placed)
		}
		c.waitRun(id, 60*time.Second, func(r *api.Run) bool { return r.State.Terminal() })
	}
	b.ReportMetric(ms(median(toCompiled)), "ms-webhook-to-compiled-p50")
	b.ReportMetric(ms(median(toPlaced)), "ms-webhook-to-placed-p50")
	b.ReportMetric(ms(median(took)), "ms-webhook-to-running-p50")
	b.ReportMetric(0, "ns/op")
}
