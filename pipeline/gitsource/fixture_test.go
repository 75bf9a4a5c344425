package gitsource

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// token is the secret the HTTP server wants; no error, and no file a
// checkout writes, may contain it.
const token = "phx-tok-9f8e7d6c5b4a-s3cr3t"

// fixture is a repository, with the commits the tests name, served bare
// over file:// and over HTTP (git http-backend behind basic auth) twice:
// "plain" with git's defaults, which refuse a want for a hash that is not
// a ref's tip, and "sha" with uploadpack.allowReachableSHA1InWant, as
// GitHub, GitLab and Gitea have.
type fixture struct {
	root string // GIT_PROJECT_ROOT: plain.git and sha.git
	http string // http://127.0.0.1:PORT
	// c1: first commit, reachable only through main's history.
	// c2: tagged v1.0 (annotated) and light (lightweight).
	// c3: the tip of feature. c4: the tip of main.
	c1, c2, c3, c4 string
}

func (f *fixture) fileURL(repo string) string { return "file://" + filepath.Join(f.root, repo+".git") }
func (f *fixture) httpURL(repo string) string { return f.http + "/" + repo + ".git" }

// gitCLI runs the git CLI in dir with a fixed identity and clock, and
// returns its trimmed output.
func gitCLI(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"GIT_AUTHOR_NAME=Test", "GIT_AUTHOR_EMAIL=test@example.com",
		"GIT_COMMITTER_NAME=Test", "GIT_COMMITTER_EMAIL=test@example.com",
		"GIT_AUTHOR_DATE=2025-01-01T00:00:00Z", "GIT_COMMITTER_DATE=2025-01-01T00:00:00Z",
		"GIT_CONFIG_NOSYSTEM=1", "HOME="+dir, "GIT_TERMINAL_PROMPT=0",
	)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

func write(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

const pipelineV1 = `version: 1
on: {push: {}}
include: [ci/steps/build.yml]
steps:
  - {name: test, image: golang:1.26, commands: [go test ./...]}
`

const pipelineV2 = `version: 1
on: {push: {}}
include: [ci/steps/build.yml]
steps:
  - {name: test, image: golang:1.26, commands: [go vet ./..., go test ./...]}
`

func newFixture(t testing.TB) *fixture {
	t.Helper()
	base := t.TempDir()
	src := filepath.Join(base, "src")
	f := &fixture{root: filepath.Join(base, "served")}
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	gitCLI(t, src, "init", "-q", "-b", "main")
	write(t, src, map[string]string{
		".phalanx.yml":       pipelineV1,
		"ci/steps/build.yml": "steps:\n  - {name: build, image: golang:1.26, needs: [test], commands: [go build ./...]}\n",
		"src/main.go":        "package main\n",
		"README.md":          "v1\n",
	})
	gitCLI(t, src, "add", "-A")
	gitCLI(t, src, "commit", "-q", "-m", "one")
	f.c1 = gitCLI(t, src, "rev-parse", "HEAD")

	write(t, src, map[string]string{".phalanx.yml": pipelineV2, "src/util.go": "package main\n"})
	gitCLI(t, src, "add", "-A")
	gitCLI(t, src, "commit", "-q", "-m", "two")
	f.c2 = gitCLI(t, src, "rev-parse", "HEAD")
	gitCLI(t, src, "tag", "-a", "-m", "release", "v1.0")
	gitCLI(t, src, "tag", "light")

	gitCLI(t, src, "checkout", "-q", "-b", "feature")
	write(t, src, map[string]string{"feature.txt": "wip\n"})
	gitCLI(t, src, "add", "-A")
	gitCLI(t, src, "commit", "-q", "-m", "three")
	f.c3 = gitCLI(t, src, "rev-parse", "HEAD")

	gitCLI(t, src, "checkout", "-q", "main")
	write(t, src, map[string]string{"README.md": "v4\n", "model/net.py": "print(1)\n"})
	gitCLI(t, src, "rm", "-q", "src/util.go")
	gitCLI(t, src, "add", "-A")
	gitCLI(t, src, "commit", "-q", "-m", "four")
	f.c4 = gitCLI(t, src, "rev-parse", "HEAD")

	for _, name := range []string{"plain", "sha"} {
		gitCLI(t, base, "clone", "-q", "--bare", src, filepath.Join(f.root, name+".git"))
	}
	gitCLI(t, filepath.Join(f.root, "sha.git"), "config", "uploadpack.allowReachableSHA1InWant", "true")
	f.http = serveHTTP(t, f.root)
	return f
}

// serveHTTP serves the bare repositories under root with git http-backend
// (smart HTTP, through net/http/cgi) on 127.0.0.1, to clients that send
// token as their basic-auth password.
func serveHTTP(t testing.TB, root string) string {
	t.Helper()
	gitPath, err := exec.LookPath("git")
	if err != nil {
		t.Fatalf("the git CLI is needed: %v", err)
	}
	backend := &cgi.Handler{
		Path: gitPath,
		Args: []string{"http-backend"},
		Root: "/",
		Env:  []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1", "GIT_CONFIG_NOSYSTEM=1", "HOME=" + root},
		// The refusals the tests provoke would clutter the test output.
		Stderr: io.Discard,
	}
	auth := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pass, ok := r.BasicAuth(); !ok || pass != token {
			w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		backend.ServeHTTP(w, r)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: auth}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}
