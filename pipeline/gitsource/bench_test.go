package gitsource

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// bigRepo makes a bare repository whose main has 1,000 commits over 100
// files (git fast-import), serves it over HTTP too, and returns the file
// URL, the HTTP URL and main's tip.
func bigRepo(b *testing.B) (fileURL, httpURL, tip string) {
	b.Helper()
	root := b.TempDir()
	bare := filepath.Join(root, "big.git")
	gitCLI(b, root, "init", "-q", "--bare", "-b", "main", bare)
	var s strings.Builder
	data := func(body string) { fmt.Fprintf(&s, "data %d\n%s\n", len(body), body) }
	for i := 1; i <= 1000; i++ {
		fmt.Fprintf(&s, "commit refs/heads/main\nmark :%d\ncommitter Bench <b@example.com> %d +0000\n", i, 1700000000+i)
		data(fmt.Sprintf("commit %d", i))
		if i > 1 {
			fmt.Fprintf(&s, "from :%d\n", i-1)
		}
		files := []int{i % 100}
		if i == 1 {
			files = files[:0]
			for f := range 100 {
				files = append(files, f)
			}
		}
		for _, f := range files {
			fmt.Fprintf(&s, "M 644 inline pkg%d/file%d.go\n", f%10, f)
			data(fmt.Sprintf("package pkg%d\n\n// revision %d\n%s", f%10, i, strings.Repeat("var x = 1\n", 50)))
		}
	}
	cmd := exec.Command("git", "fast-import", "--quiet")
	cmd.Dir = bare
	cmd.Stdin = strings.NewReader(s.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("git fast-import: %v\n%s", err, out)
	}
	if n := gitCLI(b, bare, "rev-list", "--count", "main"); n != "1000" {
		b.Fatalf("main has %s commits, want 1000", n)
	}
	return "file://" + bare, serveHTTP(b, root) + "/big.git", gitCLI(b, bare, "rev-parse", "main")
}

// BenchmarkCheckout checks out main's tip of a 1,000-commit repository.
func BenchmarkCheckout(b *testing.B) {
	fileURL, httpURL, tip := bigRepo(b)
	for _, tc := range []struct{ name, url string }{{"file", fileURL}, {"http", httpURL}} {
		b.Run(tc.name, func(b *testing.B) {
			base := b.TempDir()
			for i := 0; b.Loop(); i++ {
				dir := filepath.Join(base, fmt.Sprint(i))
				if err := Checkout(context.Background(), tc.url, Auth{Token: token}, tip, dir, WithRef("main")); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				os.RemoveAll(dir)
				b.StartTimer()
			}
		})
	}
}

// BenchmarkGitCloneDepth1 is the yardstick for BenchmarkCheckout: the git
// CLI's `git clone --depth 1` of the same repository.
func BenchmarkGitCloneDepth1(b *testing.B) {
	fileURL, httpURL, _ := bigRepo(b)
	httpURL = strings.Replace(httpURL, "http://", "http://x:"+token+"@", 1)
	for _, tc := range []struct{ name, url string }{{"file", fileURL}, {"http", httpURL}} {
		b.Run(tc.name, func(b *testing.B) {
			base := b.TempDir()
			for i := 0; b.Loop(); i++ {
				dir := filepath.Join(base, fmt.Sprint(i))
				gitCLI(b, base, "clone", "-q", "--depth", "1", "--branch", "main", tc.url, dir)
				b.StopTimer()
				os.RemoveAll(dir)
				b.StartTimer()
			}
		})
	}
}
