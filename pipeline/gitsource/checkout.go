package gitsource

import (
	"context"
	"fmt"
	"io/fs"
	"os"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
)

func checkout(ctx context.Context, url string, auth Auth, commit, dir string, opts []Option) error {
	r, err := newRemote(url, auth)
	if err != nil {
		return err
	}
	h, err := parseHash("commit", commit)
	if err != nil {
		return redact(err, r.secrets...)
	}
	if err := emptyDir(dir); err != nil {
		return err
	}
	repo, err := git.PlainInit(dir, false)
	if err != nil {
		return r.errorf("checkout into %s: %w", dir, err)
	}
	if _, err := repo.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{r.url}}); err != nil {
		return r.errorf("checkout into %s: %w", dir, err)
	}
	if err := r.fetchCommit(ctx, repo, h, optionsOf(opts).ref); err != nil {
		return err
	}
	wt, err := repo.Worktree()
	if err != nil {
		return r.errorf("checkout into %s: %w", dir, err)
	}
	if err := wt.Checkout(&git.CheckoutOptions{Hash: h, Force: true}); err != nil {
		return r.errorf("check out %s into %s: %w", h, dir, err)
	}
	// The commit is reachable from HEAD; the fetch's own ref is noise.
	if err := repo.Storer.RemoveReference(plumbing.ReferenceName(fetchRef)); err != nil {
		return r.errorf("checkout into %s: %w", dir, err)
	}
	return nil
}

// emptyDir makes sure dir exists and is empty.
func emptyDir(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case os.IsNotExist(err):
		return os.MkdirAll(dir, 0o755)
	case err != nil:
		return fmt.Errorf("checkout into %s: %w", dir, err)
	case len(entries) > 0:
		return fmt.Errorf("checkout into %s: the directory is not empty: %w", dir, fs.ErrExist)
	}
	return nil
}
