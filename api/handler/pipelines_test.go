package handler_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/phalanx-sched/phalanx/api"
	"github.com/phalanx-sched/phalanx/api/client"
	"github.com/phalanx-sched/phalanx/api/handler"
	"github.com/phalanx-sched/phalanx/pipeline/webhook"
	"github.com/phalanx-sched/phalanx/scheduler/server"
)

const hookSecret = "It's a Secret to Everybody"

// pipelineAPI is one in-memory server behind the real HTTP API, and a
// real git repository with a pipeline file.
type pipelineAPI struct {
	t      *testing.T
	srv    *server.Server
	url    string
	client *client.Client
	repo   string // the repository's directory
}

func newPipelineAPI(t *testing.T, pipelineFile string) *pipelineAPI {
	t.Helper()
	_, trans := raft.NewInmemTransport("")
	srv, err := server.New(server.TestConfig("s1", trans))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Shutdown() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.WaitLeader(ctx); err != nil {
		t.Fatal(err)
	}
	for !srv.IsLeader() {
		time.Sleep(5 * time.Millisecond)
	}
	h, err := handler.New(srv, handler.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	p := &pipelineAPI{t: t, srv: srv, url: hs.URL, client: client.New(hs.URL), repo: t.TempDir()}
	p.git("init", "-q", "-b", "main")
	p.commit(".phalanx.yml", pipelineFile)
	return p
}

func (p *pipelineAPI) git(args ...string) string {
	p.t.Helper()
	cmd := exec.Command("git", append([]string{"-C", p.repo, "-c", "user.name=t", "-c", "user.email=t@example.com"}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		p.t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// commit writes a file and commits it, returning the commit's hash.
func (p *pipelineAPI) commit(name, content string) string {
	p.t.Helper()
	if err := os.WriteFile(filepath.Join(p.repo, name), []byte(content), 0o644); err != nil {
		p.t.Fatal(err)
	}
	p.git("add", name)
	p.git("commit", "-q", "-m", "change "+name)
	return p.git("rev-parse", "HEAD")
}

func (p *pipelineAPI) addRepo(secret string) {
	p.t.Helper()
	if _, err := p.client.PutRepo(context.Background(), api.RepoRequest{Name: "app", URL: "file://" + p.repo, WebhookSecret: secret}); err != nil {
		p.t.Fatal(err)
	}
}

// pushPayload is a GitHub push event's body.
func pushPayload(ref, before, after string, deleted bool) []byte {
	b, _ := json.Marshal(map[string]any{
		"ref": ref, "before": before, "after": after, "deleted": deleted,
		"repository":  map[string]any{"full_name": "acme/app", "clone_url": "https://example.com/acme/app.git"},
		"head_commit": map[string]any{"id": after},
		"commits":     []any{},
	})
	return b
}

// postHook sends a GitHub-format delivery signed with key ("" for none).
func (p *pipelineAPI) postHook(delivery, key string, body []byte) (int, api.HookResult, string) {
	p.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, p.url+"/v1/hooks/github?repo=app", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", "push")
	req.Header.Set("X-GitHub-Delivery", delivery)
	if key != "" {
		mac := hmac.New(sha256.New, []byte(key))
		mac.Write(body)
		req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	var res api.HookResult
	json.Unmarshal(buf.Bytes(), &res)
	return resp.StatusCode, res, buf.String()
}

// waitRun waits until the run satisfies cond.
func (p *pipelineAPI) waitRun(id string, cond func(*api.Run) bool) *api.Run {
	p.t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		changed := p.srv.State().Changed()
		r, err := p.srv.Run(id)
		if err != nil {
			p.t.Fatal(err)
		}
		if cond(r) {
			return r
		}
		select {
		case <-changed:
		case <-deadline:
			p.t.Fatalf("run %s: condition not met; last %+v", id, r)
		}
	}
}

const onePipeline = `version: 1
on: {push: {branches: [main]}}
steps:
  - name: build
    image: phalanx/busybox:latest
    commands: [echo built]
  - name: test
    image: phalanx/busybox:latest
    needs: [build]
    commands: [echo tested]
`

func TestWebhookRefusals(t *testing.T) {
	p := newPipelineAPI(t, onePipeline)
	head := p.git("rev-parse", "HEAD")
	body := pushPayload("refs/heads/main", "", head, false)

	p.addRepo("")
	if code, _, msg := p.postHook("d-0", hookSecret, body); code != http.StatusForbidden || !strings.Contains(msg, "no webhook secret") {
		t.Fatalf("no secret configured: %d %s", code, msg)
	}
	p.addRepo(hookSecret)
	if code, _, msg := p.postHook("d-1", "wrong key", body); code != http.StatusUnauthorized {
		t.Fatalf("wrong signature: %d %s", code, msg)
	}
	if code, _, msg := p.postHook("d-2", "", body); code != http.StatusUnauthorized {
		t.Fatalf("no signature: %d %s", code, msg)
	}
	big := append(bytes.Repeat([]byte(" "), webhook.MaxBody), body...)
	if code, _, msg := p.postHook("d-3", hookSecret, big); code != http.StatusRequestEntityTooLarge {
		t.Fatalf("big body: %d %s", code, msg)
	}
	req, _ := http.NewRequest(http.MethodPost, p.url+"/v1/hooks/github", bytes.NewReader(body))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("no ?repo=: %v %v", resp.StatusCode, err)
	}
	if runs := p.srv.Runs(""); len(runs) != 0 {
		t.Fatalf("refused deliveries made runs: %+v", runs)
	}
}

func TestWebhookStartsRunOnceAndIgnoresDeletions(t *testing.T) {
	p := newPipelineAPI(t, onePipeline)
	p.addRepo(hookSecret)
	head := p.git("rev-parse", "HEAD")

	code, res, msg := p.postHook("72d3162e-cc78-11e3-81ab-4c9367dc0958", hookSecret, pushPayload("refs/heads/main", strings.Repeat("0", 40), head, false))
	if code != http.StatusAccepted || res.Run == "" {
		t.Fatalf("push: %d %s", code, msg)
	}
	run := p.waitRun(res.Run, func(r *api.Run) bool { return r.Compiled })
	if run.State != api.RunQueued || len(run.Steps) != 2 || run.Commit != head || run.Branch != "main" {
		t.Fatalf("compiled run: %+v", run)
	}
	if !strings.Contains(run.Message, "waiting") {
		t.Errorf("a run with no node says %q", run.Message)
	}

	code, again, msg := p.postHook("72d3162e-cc78-11e3-81ab-4c9367dc0958", hookSecret, pushPayload("refs/heads/main", strings.Repeat("0", 40), head, false))
	if code != http.StatusOK || !again.Duplicate || again.Run != res.Run {
		t.Fatalf("redelivery: %d %s", code, msg)
	}
	code, del, msg := p.postHook("d-del", hookSecret, pushPayload("refs/heads/gone", head, strings.Repeat("0", 40), true))
	if code != http.StatusOK || del.Ignored == "" || del.Run != "" {
		t.Fatalf("branch deletion: %d %s", code, msg)
	}
	if runs := p.srv.Runs("app"); len(runs) != 1 {
		t.Fatalf("%d runs, want 1", len(runs))
	}
}

func TestBadPipelineFileBecomesRunError(t *testing.T) {
	p := newPipelineAPI(t, onePipeline)
	p.addRepo(hookSecret)
	bad := p.commit(".phalanx.yml", "version: 1\nsteps:\n  - name: build\n    imag: busybox\n")
	_, res, msg := p.postHook("d-bad", hookSecret, pushPayload("refs/heads/main", "", bad, false))
	if res.Run == "" {
		t.Fatalf("push: %s", msg)
	}
	run := p.waitRun(res.Run, func(r *api.Run) bool { return r.State.Terminal() })
	if run.State != api.RunError || !strings.Contains(run.Message, ".phalanx.yml:4: steps[0].imag") {
		t.Fatalf("run %s: %q", run.State, run.Message)
	}
	// It shows in the list, as the CLI reads it.
	runs, err := p.client.Runs(context.Background(), "app")
	if err != nil || len(runs) != 1 || runs[0].State != api.RunError {
		t.Fatalf("list: %v %+v", err, runs)
	}
}

func TestManualRunAndRepoSecretsAreNeverServed(t *testing.T) {
	p := newPipelineAPI(t, onePipeline)
	ctx := context.Background()
	if _, err := p.client.PutRepo(ctx, api.RepoRequest{Name: "app", URL: "file://" + p.repo, WebhookSecret: hookSecret, Token: "tok-123"}); err != nil {
		t.Fatal(err)
	}
	if err := p.client.SetSecret(ctx, "app", "API_KEY", "value-456"); err != nil {
		t.Fatal(err)
	}
	if err := p.client.SetSecret(ctx, "app", "bad-name", "x"); err == nil {
		t.Fatal("a secret name that is no variable name was accepted")
	}
	for _, path := range []string{"/v1/repos", "/v1/repos/app", "/v1/runs"} {
		resp, err := http.Get(p.url + path)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		buf.ReadFrom(resp.Body)
		resp.Body.Close()
		for _, secret := range []string{hookSecret, "tok-123", "value-456"} {
			if strings.Contains(buf.String(), secret) {
				t.Fatalf("GET %s shows %q: %s", path, secret, buf.String())
			}
		}
	}
	info, err := p.client.Repo(ctx, "app")
	if err != nil || !info.HasToken || !info.HasWebhookSecret || fmt.Sprint(info.Secrets) != "[API_KEY]" {
		t.Fatalf("repo info %+v %v", info, err)
	}
	run, err := p.client.StartRun(ctx, "app", "main")
	if err != nil {
		t.Fatal(err)
	}
	if run.Event != "manual" || run.Commit != p.git("rev-parse", "HEAD") || run.Ref != "refs/heads/main" {
		t.Fatalf("manual run %+v", run)
	}
	if _, err := p.client.StartRun(ctx, "app", "no-such-branch"); err == nil {
		t.Fatal("a run of a missing ref started")
	}
	p.waitRun(run.ID, func(r *api.Run) bool { return r.Compiled })
	cancelled, err := p.client.CancelRun(ctx, run.ID)
	if err != nil || cancelled.State != api.RunCancelled {
		t.Fatalf("cancel: %v %+v", err, cancelled)
	}
}
