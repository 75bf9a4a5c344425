package gitsource

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/google/go-cmp/cmp"

	"github.com/phalanx-sched/phalanx/pipeline"
)

// servers are the ways each test reaches a served repository.
func servers(f *fixture) []struct {
	name string
	url  func(repo string) string
	auth Auth
} {
	return []struct {
		name string
		url  func(repo string) string
		auth Auth
	}{
		{"file", f.fileURL, Auth{}},
		{"http", f.httpURL, Auth{Token: token}},
	}
}

// noToken fails the test if err's text holds the token.
func noToken(t *testing.T, err error) {
	t.Helper()
	if err != nil && strings.Contains(err.Error(), token) {
		t.Fatalf("error shows the token: %v", err)
	}
}

func TestOpen(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for _, srv := range servers(f) {
		cases := []struct {
			name, repo, commit, hint string
			readme                   string
			wantErr                  error
		}{
			{"tip of main", "plain", f.c4, "", "v4\n", nil},
			{"annotated tag's commit", "plain", f.c2, "", "v1\n", nil},
			{"tip of a branch", "plain", f.c3, "refs/heads/feature", "v1\n", nil},
			{"old commit by hash", "sha", f.c1, "", "v1\n", nil},
			{"old commit through the ref's history", "plain", f.c1, "main", "v1\n", nil},
			{"old commit refused", "plain", f.c1, "", "", ErrCommitNotFound},
			{"old commit, hinted ref absent", "plain", f.c1, "nope", "", ErrCommitNotFound},
			{"unknown commit", "sha", strings.Repeat("ab", 20), "", "", ErrCommitNotFound},
			{"unknown commit with a hint", "plain", strings.Repeat("ab", 20), "main", "", ErrCommitNotFound},
		}
		for _, tc := range cases {
			t.Run(srv.name+"/"+tc.name, func(t *testing.T) {
				s, err := Open(ctx, srv.url(tc.repo), srv.auth, tc.commit, WithRef(tc.hint))
				noToken(t, err)
				if tc.wantErr != nil {
					if !errors.Is(err, tc.wantErr) {
						t.Fatalf("Open: got %v, want %v", err, tc.wantErr)
					}
					if !strings.Contains(err.Error(), tc.commit) {
						t.Errorf("error does not name the commit: %v", err)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if s.Hash() != tc.commit {
					t.Errorf("Hash() = %s, want %s", s.Hash(), tc.commit)
				}
				got, err := s.ReadFile("README.md")
				if err != nil || string(got) != tc.readme {
					t.Errorf("ReadFile(README.md) = %q, %v; want %q", got, err, tc.readme)
				}
			})
		}
	}
}

func TestReadFile(t *testing.T) {
	f := newFixture(t)
	s, err := Open(context.Background(), f.httpURL("sha"), Auth{Token: token}, f.c1)
	if err != nil {
		t.Fatal(err)
	}
	data, err := s.ReadFile(".phalanx.yml")
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != pipelineV1 {
		t.Errorf(".phalanx.yml at c1 = %q, want the first version", data)
	}
	// The snapshot is what the server parses a pipeline through.
	spec, err := pipeline.ParseWithIncludes(".phalanx.yml", data, s.ReadFile)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, st := range spec.Steps {
		names = append(names, st.Name+":"+st.Pos.File)
	}
	if diff := cmp.Diff([]string{"test:.phalanx.yml", "build:ci/steps/build.yml"}, names); diff != "" {
		t.Errorf("steps (-want +got):\n%s", diff)
	}
	for _, p := range []string{"./ci/steps/build.yml", "/ci/steps/build.yml", "ci//steps/build.yml"} {
		if _, err := s.ReadFile(p); err != nil {
			t.Errorf("ReadFile(%q): %v", p, err)
		}
	}
	for _, p := range []string{"missing.yml", "ci", "ci/steps", "", "feature.txt", "model/net.py"} {
		if _, err := s.ReadFile(p); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("ReadFile(%q) = %v, want fs.ErrNotExist", p, err)
		}
	}
}

func TestChangedFiles(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for _, srv := range servers(f) {
		t.Run(srv.name, func(t *testing.T) {
			cases := []struct {
				name, repo, before, after, hint string
				want                            []string
			}{
				{"push of two commits", "sha", f.c2, f.c4, "main", []string{"README.md", "model/net.py", "src/util.go"}},
				{"from the first commit", "sha", f.c1, f.c4, "", []string{".phalanx.yml", "README.md", "model/net.py"}},
				{"branch off a tag", "plain", f.c2, f.c3, "", []string{"feature.txt"}},
				{"same commit", "plain", f.c4, f.c4, "", []string{}},
				{"new branch", "plain", strings.Repeat("0", 40), f.c3, "", nil},
				{"no before", "plain", "", f.c3, "", nil},
			}
			for _, tc := range cases {
				got, err := ChangedFiles(ctx, srv.url(tc.repo), srv.auth, tc.before, tc.after, WithRef(tc.hint))
				if err != nil {
					t.Fatalf("%s: %v", tc.name, err)
				}
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("%s (-want +got):\n%s", tc.name, diff)
				}
				if (tc.want == nil) != (got == nil) {
					t.Errorf("%s: nil-ness: got %#v, want %#v", tc.name, got, tc.want)
				}
			}
			// c1 is no ref's tip and plain refuses hashes.
			_, err := ChangedFiles(ctx, srv.url("plain"), srv.auth, f.c1, f.c4, WithRef("main"))
			noToken(t, err)
			if !errors.Is(err, ErrCommitNotFound) {
				t.Errorf("before not fetchable: got %v, want ErrCommitNotFound", err)
			}
		})
	}
}

func TestResolveRef(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for _, srv := range servers(f) {
		t.Run(srv.name, func(t *testing.T) {
			cases := []struct{ ref, want string }{
				{"main", f.c4},
				{"refs/heads/main", f.c4},
				{"HEAD", f.c4},
				{"feature", f.c3},
				{"v1.0", f.c2},
				{"refs/tags/v1.0", f.c2},
				{"light", f.c2},
				{f.c3, f.c3},
				{strings.ToUpper(f.c4), f.c4},
			}
			for _, tc := range cases {
				got, err := ResolveRef(ctx, srv.url("plain"), srv.auth, tc.ref)
				if err != nil || got != tc.want {
					t.Errorf("ResolveRef(%q) = %s, %v; want %s", tc.ref, got, err, tc.want)
				}
			}
			if got, err := ResolveRef(ctx, srv.url("sha"), srv.auth, f.c1); err != nil || got != f.c1 {
				t.Errorf("ResolveRef(old hash) on a server that sends any hash = %s, %v", got, err)
			}
			for _, tc := range []struct {
				ref     string
				wantErr error
				says    string
			}{
				{"nope", ErrRefNotFound, `"nope"`},
				{f.c4[:8], ErrRefNotFound, "abbreviated"},
				{strings.Repeat("cd", 20), ErrCommitNotFound, strings.Repeat("cd", 20)},
				{f.c1, ErrCommitNotFound, "allowReachableSHA1InWant"},
			} {
				_, err := ResolveRef(ctx, srv.url("plain"), srv.auth, tc.ref)
				noToken(t, err)
				if !errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), tc.says) {
					t.Errorf("ResolveRef(%q) = %v; want %v saying %q", tc.ref, err, tc.wantErr, tc.says)
				}
			}
		})
	}
}

func TestCheckout(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	embedded := strings.Replace(f.httpURL("plain"), "http://", "http://ci:"+token+"@", 1)
	cases := []struct {
		name, url string
		auth      Auth
		commit    string
		hint      string
		depth     string
		files     []string
		has       string // a commit the fetch must have brought too
	}{
		{"file tip", f.fileURL("plain"), Auth{}, f.c4, "", "1", []string{".phalanx.yml", "README.md", "ci/steps/build.yml", "model/net.py", "src/main.go"}, ""},
		{"file plain path", filepath.Join(f.root, "plain.git"), Auth{}, f.c3, "", "1", []string{".phalanx.yml", "README.md", "ci/steps/build.yml", "feature.txt", "src/main.go", "src/util.go"}, ""},
		{"http old commit by hash", f.httpURL("sha"), Auth{Token: token}, f.c1, "", "1", []string{".phalanx.yml", "README.md", "ci/steps/build.yml", "src/main.go"}, ""},
		{"http tag", f.httpURL("plain"), Auth{Token: token, User: "oauth2"}, f.c2, "v1.0", "1", []string{".phalanx.yml", "README.md", "ci/steps/build.yml", "src/main.go", "src/util.go"}, ""},
		{"http token in the URL", embedded, Auth{}, f.c4, "main", "1", []string{".phalanx.yml", "README.md", "ci/steps/build.yml", "model/net.py", "src/main.go"}, ""},
		// plain refuses c1's hash: the whole of main's history comes.
		{"http old commit through history", f.httpURL("plain"), Auth{Token: token}, f.c1, "main", "1", []string{".phalanx.yml", "README.md", "ci/steps/build.yml", "src/main.go"}, f.c4},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "ws")
			if err := Checkout(ctx, tc.url, tc.auth, tc.commit, dir, WithRef(tc.hint)); err != nil {
				t.Fatal(err)
			}
			if got := gitCLI(t, dir, "rev-parse", "HEAD"); got != tc.commit {
				t.Errorf("HEAD = %s, want %s", got, tc.commit)
			}
			if got := gitCLI(t, dir, "rev-list", "--count", "HEAD"); got != tc.depth {
				t.Errorf("rev-list --count HEAD = %s, want %s", got, tc.depth)
			}
			if tc.has != "" {
				if got := gitCLI(t, dir, "cat-file", "-t", tc.has); got != "commit" {
					t.Errorf("%s is a %q, want the commit", tc.has, got)
				}
			} else {
				if _, err := os.Stat(filepath.Join(dir, ".git", "shallow")); err != nil {
					t.Errorf("no .git/shallow: %v", err)
				}
			}
			if got := gitCLI(t, dir, "status", "--porcelain"); got != "" {
				t.Errorf("work tree differs from HEAD:\n%s", got)
			}
			if got := strings.Fields(gitCLI(t, dir, "ls-files")); !cmp.Equal(got, tc.files) {
				t.Errorf("files (-want +got):\n%s", cmp.Diff(tc.files, got))
			}
			if got := gitCLI(t, dir, "fsck", "--no-dangling"); got != "" {
				t.Errorf("git fsck: %s", got)
			}
			assertNoToken(t, dir)
		})
	}
}

// assertNoToken fails if any file under dir holds the token.
func assertNoToken(t *testing.T, dir string) {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		n++
		if strings.Contains(string(data), token) || strings.Contains(p, token) {
			t.Errorf("%s holds the token", p)
		}
		return nil
	})
	if err != nil || n < 5 {
		t.Fatalf("walked %d files: %v", n, err)
	}
}

func TestCheckoutErrors(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	full := t.TempDir()
	if err := os.WriteFile(filepath.Join(full, "x"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, url string
		auth      Auth
		commit    string
		dir       string
		wantErr   error
		says      string
	}{
		{"wrong token", f.httpURL("plain"), Auth{Token: token + "-wrong"}, f.c4, "", transport.ErrAuthenticationRequired, "refused the token"},
		{"no token", f.httpURL("plain"), Auth{}, f.c4, "", transport.ErrAuthenticationRequired, "no token was given"},
		{"wrong token in the URL", strings.Replace(f.httpURL("plain"), "http://", "http://u:"+token+"x@", 1), Auth{}, f.c4, "", transport.ErrAuthenticationRequired, f.http[len("http://"):]},
		{"unknown commit", f.httpURL("sha"), Auth{Token: token}, strings.Repeat("ef", 20), "", ErrCommitNotFound, strings.Repeat("ef", 20)},
		{"unknown repository", f.httpURL("nope"), Auth{Token: token}, f.c4, "", transport.ErrRepositoryNotFound, "nope.git"},
		{"short hash", f.httpURL("sha"), Auth{Token: token}, f.c4[:10], "", nil, "not a full 40-character commit hash"},
		{"directory not empty", f.fileURL("plain"), Auth{}, f.c4, full, fs.ErrExist, "not empty"},
		{"ssh URL", "ssh://git@example.com/" + token + ".git", Auth{Token: token}, f.c4, "", nil, "only file://"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := tc.dir
			if dir == "" {
				dir = filepath.Join(t.TempDir(), "ws")
			}
			err := Checkout(ctx, tc.url, tc.auth, tc.commit, dir)
			if err == nil {
				t.Fatal("Checkout succeeded")
			}
			noToken(t, err)
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("got %v, want %v", err, tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.says) {
				t.Errorf("error %q does not say %q", err, tc.says)
			}
			// Nothing written, or only an empty repository: no token.
			if _, err := os.Stat(filepath.Join(dir, ".git")); err == nil {
				assertNoTokenAnywhere(t, dir)
			}
		})
	}
}

func assertNoTokenAnywhere(t *testing.T, dir string) {
	t.Helper()
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if data, _ := os.ReadFile(p); strings.Contains(string(data), token) {
				t.Errorf("%s holds the token", p)
			}
		}
		return nil
	})
}

func TestContextCanceled(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Open(ctx, f.httpURL("plain"), Auth{Token: token}, f.c4)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Open with a canceled context = %v, want context.Canceled", err)
	}
}
