package gitsource

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/memory"
)

func optionsOf(opts []Option) options {
	var o options
	for _, f := range opts {
		f(&o)
	}
	return o
}

// memRepo is an empty in-memory repository whose origin is r.url.
func (r *remote) memRepo() (*git.Repository, error) {
	repo, err := git.Init(memory.NewStorage(), nil)
	if err != nil {
		return nil, err
	}
	_, err = repo.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{r.url}})
	return repo, err
}

func open(ctx context.Context, url string, auth Auth, commit string, opts []Option) (*Snapshot, error) {
	r, err := newRemote(url, auth)
	if err != nil {
		return nil, err
	}
	h, err := parseHash("commit", commit)
	if err != nil {
		return nil, redact(err, r.secrets...)
	}
	repo, err := r.memRepo()
	if err != nil {
		return nil, r.errorf("gitsource: %w", err)
	}
	if err := r.fetchCommit(ctx, repo, h, optionsOf(opts).ref); err != nil {
		return nil, err
	}
	c, err := repo.CommitObject(h)
	if err != nil {
		return nil, r.errorf("read commit %s of %s: %w", h, r.url, err)
	}
	tree, err := c.Tree()
	if err != nil {
		return nil, r.errorf("read the tree of commit %s of %s: %w", h, r.url, err)
	}
	short := h.String()[:12]
	return &Snapshot{hash: h.String(), read: func(p string) ([]byte, error) {
		return readFile(tree, short, p)
	}}, nil
}

// readFile reads the regular file (or symlink, as its target's name) at p.
func readFile(tree *object.Tree, short, p string) ([]byte, error) {
	clean := strings.TrimPrefix(path.Clean("/"+p), "/")
	if clean == "" {
		return nil, fmt.Errorf("%s at %s: %w", p, short, fs.ErrNotExist)
	}
	e, err := tree.FindEntry(clean)
	if err != nil {
		return nil, fmt.Errorf("%s at %s: %w", p, short, fs.ErrNotExist)
	}
	if !e.Mode.IsFile() {
		what := "a directory"
		if e.Mode == filemode.Submodule {
			what = "a submodule"
		}
		return nil, fmt.Errorf("%s at %s is %s, not a file: %w", p, short, what, fs.ErrNotExist)
	}
	f, err := tree.TreeEntryFile(e)
	if err != nil {
		return nil, fmt.Errorf("%s at %s: %w", p, short, err)
	}
	rd, err := f.Reader()
	if err != nil {
		return nil, fmt.Errorf("%s at %s: %w", p, short, err)
	}
	defer rd.Close()
	return io.ReadAll(rd)
}

// isZero reports whether a push's before names no commit.
func isZero(h string) bool { return strings.Trim(h, "0") == "" }

func changedFiles(ctx context.Context, url string, auth Auth, before, after string, opts []Option) ([]string, error) {
	if isZero(before) {
		return nil, nil
	}
	r, err := newRemote(url, auth)
	if err != nil {
		return nil, err
	}
	b, err := parseHash("before", before)
	if err != nil {
		return nil, redact(err, r.secrets...)
	}
	a, err := parseHash("after", after)
	if err != nil {
		return nil, redact(err, r.secrets...)
	}
	repo, err := r.memRepo()
	if err != nil {
		return nil, r.errorf("gitsource: %w", err)
	}
	hint := optionsOf(opts).ref
	if err := r.fetchCommit(ctx, repo, a, hint); err != nil {
		return nil, err
	}
	// before is usually an ancestor of the hinted ref's new tip, never
	// its tip: no hint, so a refusal does not fetch the whole history.
	if err := r.fetchCommit(ctx, repo, b, ""); err != nil {
		return nil, err
	}
	trees := [2]*object.Tree{}
	for i, h := range []plumbing.Hash{b, a} {
		c, err := repo.CommitObject(h)
		if err == nil {
			trees[i], err = c.Tree()
		}
		if err != nil {
			return nil, r.errorf("read commit %s of %s: %w", h, r.url, err)
		}
	}
	changes, err := object.DiffTreeWithOptions(ctx, trees[0], trees[1], &object.DiffTreeOptions{})
	if err != nil {
		return nil, r.errorf("diff %s..%s of %s: %w", b, a, r.url, err)
	}
	seen := map[string]bool{}
	files := []string{}
	for _, c := range changes {
		for _, n := range []string{c.From.Name, c.To.Name} {
			if n != "" && !seen[n] {
				seen[n] = true
				files = append(files, n)
			}
		}
	}
	sort.Strings(files)
	return files, nil
}

func resolveRef(ctx context.Context, url string, auth Auth, ref string) (string, error) {
	r, err := newRemote(url, auth)
	if err != nil {
		return "", err
	}
	if ref == "" {
		return "", r.errorf("gitsource: empty ref")
	}
	if hashRE.MatchString(strings.ToLower(ref)) {
		h := plumbing.NewHash(strings.ToLower(ref))
		repo, err := r.memRepo()
		if err != nil {
			return "", r.errorf("gitsource: %w", err)
		}
		if err := r.fetchCommit(ctx, repo, h, ""); err != nil {
			return "", err
		}
		return h.String(), nil
	}
	refs, err := r.refs(ctx)
	if err != nil {
		return "", err
	}
	for _, name := range expand(ref) {
		if h, ok := refs[name]; ok {
			return h.String(), nil
		}
	}
	why := ""
	if len(ref) >= 4 && len(ref) < 40 && strings.Trim(strings.ToLower(ref), "0123456789abcdef") == "" {
		why = " (an abbreviated hash cannot be resolved without a full clone: give all 40 characters)"
	}
	return "", r.errorf("ref %q is not a branch, tag or ref of %s%s: %w", ref, r.url, why, ErrRefNotFound)
}
