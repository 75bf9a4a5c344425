package webhook

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/phalanx-sched/phalanx/pipeline"
)

// TestPostReceiveHook installs examples/hooks/post-receive in a real bare
// repository, pushes to it with the git CLI, and checks that what the
// hook's curl POSTs verifies and parses.
func TestPostReceiveHook(t *testing.T) {
	for _, tool := range []string{"git", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed: %v", tool, err)
		}
	}
	// A token with characters that need quoting in curl's config.
	token := `s3cr"et\tok`
	type request struct {
		path   string
		header http.Header
		body   []byte
	}
	var (
		mu   sync.Mutex
		reqs []request
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := ReadBody(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
			return
		}
		mu.Lock()
		reqs = append(reqs, request{r.URL.Path + "?" + r.URL.RawQuery, r.Header.Clone(), body})
		mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()

	base := t.TempDir()
	bare := filepath.Join(base, "trainer.git")
	work := filepath.Join(base, "work")
	run := func(dir string, args ...string) string {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+base,
			"GIT_AUTHOR_NAME=T", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=T", "GIT_COMMITTER_EMAIL=t@example.com")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out.String())
		}
		return strings.TrimSpace(out.String())
	}
	run(base, "init", "-q", "--bare", "-b", "main", bare)
	hook, err := os.ReadFile(filepath.Join("..", "..", "examples", "hooks", "post-receive"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bare, "hooks", "post-receive"), hook, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bare, "phalanx-token"), []byte(token), 0o600); err != nil {
		t.Fatal(err)
	}
	run(bare, "config", "phalanx.addr", srv.URL+"/")
	run(bare, "config", "phalanx.cloneurl", "https://git.example.com/trainer.git")
	run(bare, "config", "phalanx.repo", "trainer")

	run(base, "init", "-q", "-b", "main", work)
	commit := func(file string) string {
		t.Helper()
		if err := os.WriteFile(filepath.Join(work, file), []byte(file), 0o644); err != nil {
			t.Fatal(err)
		}
		run(work, "add", file)
		run(work, "commit", "-q", "-m", file)
		return run(work, "rev-parse", "HEAD")
	}
	c1 := commit("a.txt")
	run(work, "push", "-q", bare, "main", "main:feature")
	c2 := commit("b.txt")
	run(work, "tag", "-a", "-m", "release", "v1.0")
	tagObject := run(work, "rev-parse", "v1.0")
	run(work, "push", "-q", bare, "main", "v1.0", ":feature")

	zero := strings.Repeat("0", 40)
	want := []struct {
		ref     string
		kind    string
		before  string
		commit  string
		ignored bool
	}{
		{"refs/heads/main", pipeline.EventPush, zero, c1, false},
		{"refs/heads/feature", pipeline.EventPush, zero, c1, false},
		{"refs/heads/main", pipeline.EventPush, c1, c2, false},
		{"refs/tags/v1.0", pipeline.EventTag, zero, c2, false},
		{"refs/heads/feature", "", c1, "", true},
	}
	mu.Lock()
	defer mu.Unlock()
	if len(reqs) != len(want) {
		t.Fatalf("the hook sent %d requests, want %d", len(reqs), len(want))
	}
	// A push's ref updates arrive in the order git lists them; compare
	// as a set keyed by ref and before.
	ids := map[string]bool{}
	for _, w := range want {
		found := false
		for _, r := range reqs {
			if r.path != "/v1/hooks/generic?repo=trainer" {
				t.Errorf("POST to %s", r.path)
			}
			if err := Verify(Generic, r.header, r.body, []byte(token)); err != nil {
				t.Fatalf("Verify: %v\n%s", err, r.body)
			}
			if Verify(Generic, r.header, r.body, []byte("other")) == nil {
				t.Fatal("a delivery verified with the wrong secret")
			}
			d, err := Parse(Generic, r.header, r.body)
			if w.ignored {
				if errors.Is(err, ErrIgnored) && strings.Contains(err.Error(), w.ref) {
					found = true
				}
				continue
			}
			if err != nil || d.Event.Ref != w.ref || d.Before != w.before {
				continue
			}
			found = true
			if d.Event.Kind != w.kind || d.Event.Commit != w.commit || d.Event.Commit == tagObject {
				t.Errorf("%s: got %+v, want kind %s commit %s", w.ref, d.Event, w.kind, w.commit)
			}
			if d.CloneURL != "https://git.example.com/trainer.git" || d.RepoName != "trainer" || d.Event.Repo != "trainer" {
				t.Errorf("%s: repository %q %q", w.ref, d.CloneURL, d.RepoName)
			}
			if d.ID == "" || ids[d.ID] {
				t.Errorf("%s: delivery ID %q is empty or repeated", w.ref, d.ID)
			}
			ids[d.ID] = true
			if d.Event.ChangedFiles != nil {
				t.Errorf("%s: ChangedFiles = %v, want nil (unknown)", w.ref, d.Event.ChangedFiles)
			}
		}
		if !found {
			var bodies []string
			for _, r := range reqs {
				bodies = append(bodies, string(r.body))
			}
			t.Errorf("no delivery for %+v in:\n%s", w, strings.Join(bodies, "\n"))
		}
	}
	for _, r := range reqs {
		if bytes.Contains(r.body, []byte("s3cr")) {
			t.Errorf("the token is in the body: %s", r.body)
		}
	}
}
