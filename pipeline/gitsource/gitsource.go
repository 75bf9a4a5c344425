package gitsource

import (
	"context"
	"errors"
)

// ErrCommitNotFound is wrapped by errors for a commit the remote does not
// have, or will not serve.
var ErrCommitNotFound = errors.New("commit not found")

// ErrRefNotFound is wrapped by ResolveRef's error for a ref the remote does
// not advertise.
var ErrRefNotFound = errors.New("ref not found")

// DefaultUser is the basic-auth user name sent with a token when
// Auth.User is empty. GitHub (installation and personal tokens) and Gitea
// accept it; GitLab accepts any non-empty user name with a personal, project
// or group access token, and wants "oauth2" for an OAuth token.
const DefaultUser = "x-access-token"

// Auth is how to authenticate to the remote: Token, sent as the password of
// HTTP basic auth with user User (DefaultUser when empty). A zero Auth is
// anonymous. Auth applies to http(s) URLs; file URLs ignore it.
type Auth struct {
	Token string
	User  string
}

// Option refines a fetch.
type Option func(*options)

type options struct {
	ref string
}

// WithRef names the ref the commit was pushed to ("refs/heads/main",
// "main", "refs/tags/v1.2", "refs/pull/7/head"). The fetch then asks for
// that ref with depth 1 when it still points at the commit, and falls back
// to the ref's history when the server refuses a want for a bare hash.
func WithRef(ref string) Option { return func(o *options) { o.ref = ref } }

// Snapshot is one commit of a repository, held in memory.
type Snapshot struct {
	hash string
	read func(path string) ([]byte, error)
}

// Open fetches exactly one commit of url (shallow, depth 1: not a full
// clone) into memory. commit is a full 40-character hash.
func Open(ctx context.Context, url string, auth Auth, commit string, opts ...Option) (*Snapshot, error) {
	return open(ctx, url, auth, commit, opts)
}

// ReadFile returns the file at path (slash-separated, relative to the
// repository root) in the snapshot's commit. A missing file (or a path that
// names a directory) gives an error wrapping os.ErrNotExist. Its signature
// fits pipeline.ParseWithIncludes' read function.
func (s *Snapshot) ReadFile(path string) ([]byte, error) { return s.read(path) }

// Hash returns the snapshot's commit hash.
func (s *Snapshot) Hash() string { return s.hash }

// ChangedFiles returns the paths that differ between the trees of commits
// before and after (added, modified, deleted, and both names of a rename),
// sorted. It returns nil, nil when before is empty or all zeros (a new
// branch): the changes are unknown.
func ChangedFiles(ctx context.Context, url string, auth Auth, before, after string, opts ...Option) ([]string, error) {
	return changedFiles(ctx, url, auth, before, after, opts)
}

// ResolveRef turns ref into a commit hash: "HEAD", a branch ("main",
// "refs/heads/main"), a tag ("v1.2", "refs/tags/v1.2"; an annotated tag
// gives the commit it points at), any other full ref name, or a full
// 40-character commit hash (checked to exist on the remote).
func ResolveRef(ctx context.Context, url string, auth Auth, ref string) (string, error) {
	return resolveRef(ctx, url, auth, ref)
}

// Checkout puts exactly commit into dir: a working tree with a .git, HEAD
// detached at commit, shallow (depth 1). dir must be empty or not exist.
// The remote "origin" is recorded without credentials; the token is written
// nowhere under dir.
func Checkout(ctx context.Context, url string, auth Auth, commit, dir string, opts ...Option) error {
	return checkout(ctx, url, auth, commit, dir, opts)
}
