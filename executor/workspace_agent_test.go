package executor_test

import (
	"bytes"
	"context"
	"log"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/phalanx-sched/phalanx/api"
	"github.com/phalanx-sched/phalanx/executor"
	"github.com/phalanx-sched/phalanx/executor/docker"
	"github.com/phalanx-sched/phalanx/executor/host"
	"github.com/phalanx-sched/phalanx/internal/testimage"
	"github.com/phalanx-sched/phalanx/internal/testutil"
)

// gitServer is a real repository served by git http-backend on
// 127.0.0.1, which asks for token as the basic-auth password.
type gitServer struct {
	url, commit string
	requests    atomic.Int32
}

func newGitServer(t *testing.T, token string, files map[string]string) *gitServer {
	t.Helper()
	root, commit := makeRepo(t, files)
	s := &gitServer{commit: commit}
	backend := &cgi.Handler{
		Path: filepath.Join(git(t, root, "--exec-path"), "git-http-backend"),
		Env:  []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1", "HOME=" + root},
	}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		if _, pass, ok := r.BasicAuth(); !ok || pass != token {
			w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
			http.Error(w, "token required", http.StatusUnauthorized)
			return
		}
		backend.ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)
	s.url = hs.URL + "/repo"
	return s
}

// makeRepo commits files to a new repository, <root>/repo, with the git
// CLI and returns root and the commit.
func makeRepo(t *testing.T, files map[string]string) (root, commit string) {
	t.Helper()
	root = t.TempDir()
	repo := filepath.Join(root, "repo")
	git(t, root, "init", "-q", "-b", "main", repo)
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(repo, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	git(t, repo, "add", ".")
	git(t, repo, "commit", "-q", "-m", "first")
	return root, git(t, repo, "rev-parse", "HEAD")
}

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_NOSYSTEM=1", "HOME="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// syncBuffer collects the agent's own log output.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Two steps of one pipeline run on the real Docker runtime share a
// workspace checked out once over authenticated HTTP; secrets and the
// token show nowhere.
func TestWorkspaceOnDocker(t *testing.T) {
	testutil.Docker(t)
	const token = "ghp_T0kenThatMustNotLeak42"
	const secret = "sup3r-s3cret-value"
	repo := newGitServer(t, token, map[string]string{"hello.txt": "hello from git\n"})

	var agentLog syncBuffer
	log.SetOutput(&agentLog)
	t.Cleanup(func() { log.SetOutput(os.Stderr) })

	h := newHarness(t)
	rt, err := docker.New(docker.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	h.runtime = rt
	_, ag := h.startAgentWith(nil)

	workspace := func(id, tok string) *api.Workspace {
		return &api.Workspace{ID: id, Checkout: &api.Checkout{URL: repo.url, Commit: repo.commit, Ref: "refs/heads/main", Token: tok}}
	}
	step := func(ws *api.Workspace, script string) (jobID string) {
		spec := &api.JobSpec{Name: "step", Queue: "default", Priority: 50, Groups: []api.Group{{
			Name: "main", Count: 1,
			Task: api.Task{
				Image:     testimage.Name,
				Command:   []string{"sh", "-c", script},
				Env:       map[string]string{"DEPLOY_KEY": secret, "PIN": "123"},
				SecretEnv: []string{"DEPLOY_KEY", "PIN"},
				Workspace: ws,
				Resources: api.Resources{CPUMilli: 100, MemoryBytes: 64 << 20},
			},
		}}}
		st, err := h.srv.SubmitJob(context.Background(), spec, "")
		if err != nil {
			t.Fatal(err)
		}
		return st.ID
	}
	logOf := func(jobID string) string {
		var b bytes.Buffer
		if err := ag.Logs().Read(h.alloc(jobID, 0).ID, &b); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	finished := func(jobID string) func() bool {
		return func() bool { a := h.alloc(jobID, 0); return a != nil && a.State.Terminal() }
	}

	first := step(workspace("run-1", token), `cat hello.txt && pwd && echo "key=$DEPLOY_KEY" && echo "pin=$PIN" && echo built > made.txt`)
	h.eventually("the first step ended", finished(first))
	out := logOf(first)
	if a := h.alloc(first, 0); a.State != api.AllocSucceeded {
		t.Fatalf("first step %s (%s); log:\n%s", a.State, a.Message, out)
	}
	for _, want := range []string{"hello from git\n", "/workspace\n", "key=***\n", "pin=123\n", "secret PIN: values (or lines of values) shorter than 4 characters are not masked"} {
		if !strings.Contains(out, want) {
			t.Errorf("first step's log lacks %q:\n%s", want, out)
		}
	}
	requests := repo.requests.Load()

	second := step(workspace("run-1", token), `cat made.txt && ls -a && echo "$PHALANX_WORKSPACE"`)
	h.eventually("the second step ended", finished(second))
	out = logOf(second)
	if a := h.alloc(second, 0); a.State != api.AllocSucceeded {
		t.Fatalf("second step %s (%s); log:\n%s", a.State, a.Message, out)
	}
	for _, want := range []string{"built\n", "hello.txt\n", ".git\n", "/workspace\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("second step's log lacks %q:\n%s", want, out)
		}
	}
	if n := repo.requests.Load(); n != requests {
		t.Errorf("the second step fetched again (%d requests to the git server, then %d)", requests, n)
	}

	// A wrong token fails the step with a message that says why and
	// shows neither token.
	const wrong = "ghp_WrongTokenAlsoSecret99"
	bad := step(workspace("run-2", wrong), `echo must-not-run`)
	h.eventually("the step with a bad token ended", finished(bad))
	a := h.alloc(bad, 0)
	out = logOf(bad)
	if a.State != api.AllocFailed || !strings.Contains(a.Message, "workspace not ready") || strings.Contains(out, "must-not-run") {
		t.Errorf("step with a bad token: %s %q; log:\n%s", a.State, a.Message, out)
	}

	// Neither token nor secret anywhere: logs, messages, the agent's own
	// log, or the workspace's files (.git/config included).
	var texts []string
	for _, id := range []string{first, second, bad} {
		texts = append(texts, logOf(id), h.alloc(id, 0).Message)
	}
	texts = append(texts, agentLog.String())
	wsRoot := filepath.Join(h.dir, "workspaces")
	filepath.WalkDir(wsRoot, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			b, _ := os.ReadFile(p)
			texts = append(texts, string(b))
		}
		return nil
	})
	if _, err := os.Stat(filepath.Join(wsRoot, "run-1", ".git", "config")); err != nil {
		t.Errorf("the workspace has no .git/config to check: %v", err)
	}
	for _, text := range texts {
		for _, s := range []string{token, wrong, secret} {
			if strings.Contains(text, s) {
				t.Errorf("%q shows up in %q", s, text)
			}
		}
	}
}

// The exec runtime runs a step in the workspace itself, checked out from
// a file:// URL, with its secret masked.
func TestWorkspaceOnExec(t *testing.T) {
	root, commit := makeRepo(t, map[string]string{"hello.txt": "hello from git\n"})
	h := newHarness(t)
	rt, err := host.New(host.Config{WorkDir: filepath.Join(h.dir, "work")})
	if err != nil {
		t.Fatal(err)
	}
	h.runtime = rt
	_, ag := h.startAgentWith(nil)
	spec := &api.JobSpec{Name: "step", Queue: "default", Priority: 50, Groups: []api.Group{{
		Name: "main", Count: 1,
		Task: api.Task{
			Command:   []string{"sh", "-c", `cat hello.txt && pwd && echo "$PHALANX_WORKSPACE" && printf 'key=%s\n' "$KEY" && echo made > made.txt`},
			Env:       map[string]string{"KEY": "line-one\nline-two"},
			SecretEnv: []string{"KEY"},
			Workspace: &api.Workspace{ID: "run-x", Checkout: &api.Checkout{URL: "file://" + filepath.Join(root, "repo"), Commit: commit}},
			Resources: api.Resources{CPUMilli: 100, MemoryBytes: 64 << 20},
		},
	}}}
	st, err := h.srv.SubmitJob(context.Background(), spec, "")
	if err != nil {
		t.Fatal(err)
	}
	h.eventually("the step ended", func() bool { a := h.alloc(st.ID, 0); return a != nil && a.State.Terminal() })
	var b bytes.Buffer
	if err := ag.Logs().Read(h.alloc(st.ID, 0).ID, &b); err != nil {
		t.Fatal(err)
	}
	ws := filepath.Join(h.dir, "workspaces", "run-x")
	want := "hello from git\n" + ws + "\n" + ws + "\nkey=***\n***\n"
	if a := h.alloc(st.ID, 0); a.State != api.AllocSucceeded || b.String() != want {
		t.Fatalf("step %s (%s); log %q, want %q", a.State, a.Message, b.String(), want)
	}
	if got, err := os.ReadFile(filepath.Join(ws, "made.txt")); err != nil || string(got) != "made\n" {
		t.Errorf("made.txt: %q, %v", got, err)
	}
}

// An agent that starts removes the workspaces an earlier process left
// that have gone unused for longer than the grace, and keeps the others.
func TestAgentSweepsStaleWorkspacesOnStart(t *testing.T) {
	h := newHarness(t)
	root := filepath.Join(h.dir, "workspaces")
	now := time.Now()
	for id, age := range map[string]time.Duration{"stale": 2 * time.Hour, "recent": time.Minute} {
		if err := os.MkdirAll(filepath.Join(root, id, "src"), 0o777); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(filepath.Join(root, id), now.Add(-age), now.Add(-age)); err != nil {
			t.Fatal(err)
		}
	}
	h.startAgentWith(func(c *executor.Config) { c.WorkspaceGrace = time.Hour })
	h.eventually("the stale workspace removed", func() bool {
		_, err := os.Stat(filepath.Join(root, "stale"))
		return os.IsNotExist(err)
	})
	if _, err := os.Stat(filepath.Join(root, "recent", "src")); err != nil {
		t.Errorf("the recent workspace is gone: %v", err)
	}
}
