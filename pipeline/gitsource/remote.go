package gitsource

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
)

// remote is a repository URL with its credentials kept apart from it.
type remote struct {
	// url has no user information: it is what errors show and what
	// Checkout records.
	url     string
	auth    transport.AuthMethod
	secrets []string
}

var hashRE = regexp.MustCompile(`^[0-9a-f]{40}$`)

// newRemote checks rawURL and moves any user information in it into the
// credentials, so that the URL can be shown and stored.
func newRemote(rawURL string, a Auth) (*remote, error) {
	r := &remote{secrets: []string{a.Token}}
	switch {
	case rawURL == "":
		return nil, errors.New("gitsource: empty repository URL")
	case strings.HasPrefix(rawURL, "http://"), strings.HasPrefix(rawURL, "https://"):
		u, err := url.Parse(rawURL)
		if err != nil {
			// url.Error quotes the URL, which may hold a password.
			return nil, redact(fmt.Errorf("gitsource: repository URL is not a valid URL"), a.Token)
		}
		user, token := a.User, a.Token
		if u.User != nil {
			pass, ok := u.User.Password()
			switch {
			case ok && token == "":
				user, token = u.User.Username(), pass
			case !ok && token == "":
				// "https://TOKEN@host/repo": a token as the user name.
				user, token = u.User.Username(), ""
				r.secrets = append(r.secrets, user)
			}
			r.secrets = append(r.secrets, pass)
			u.User = nil
		}
		r.url = u.String()
		if token != "" || user != "" {
			if user == "" {
				user = DefaultUser
			}
			r.auth = &githttp.BasicAuth{Username: user, Password: token}
			r.secrets = append(r.secrets, token)
		}
	case strings.HasPrefix(rawURL, "file://"):
		r.url = rawURL
	case strings.Contains(rawURL, "://"):
		// The URL is not shown: it may hold credentials.
		scheme, _, _ := strings.Cut(rawURL, "://")
		return nil, redact(fmt.Errorf("gitsource: repository URL scheme %q: only file://, http:// and https:// URLs (or local paths) are supported", scheme), a.Token)
	default:
		abs, err := filepath.Abs(rawURL)
		if err != nil {
			return nil, fmt.Errorf("gitsource: repository path %q: %w", rawURL, err)
		}
		r.url = "file://" + filepath.ToSlash(abs)
	}
	return r, nil
}

// refs lists the remote's refs, mapping each name to the commit (or other
// object) it points at; annotated tags map to the commit they peel to.
func (r *remote) refs(ctx context.Context) (map[string]plumbing.Hash, error) {
	rem := git.NewRemote(nil, &config.RemoteConfig{Name: "origin", URLs: []string{r.url}})
	list, err := rem.ListContext(ctx, &git.ListOptions{Auth: r.auth, PeelingOption: git.AppendPeeled})
	if err != nil {
		return nil, r.errorf("list refs of %s: %w%s", r.url, err, r.advice(err))
	}
	refs := make(map[string]plumbing.Hash, len(list))
	head := ""
	for _, ref := range list {
		name := ref.Name().String()
		if ref.Type() == plumbing.SymbolicReference {
			if name == "HEAD" {
				head = ref.Target().String()
			}
			continue
		}
		if base, ok := strings.CutSuffix(name, "^{}"); ok {
			refs[base] = ref.Hash() // the peeled value wins over the tag object
			continue
		}
		if _, seen := refs[name]; !seen {
			refs[name] = ref.Hash()
		}
	}
	if h, ok := refs[head]; ok && head != "" {
		refs["HEAD"] = h
	}
	return refs, nil
}

// advice explains an authentication failure in the user's terms.
func (r *remote) advice(err error) string {
	switch {
	case errors.Is(err, transport.ErrAuthenticationRequired) && r.auth == nil:
		return " (the server wants credentials and no token was given)"
	case errors.Is(err, transport.ErrAuthenticationRequired):
		return " (the server refused the token: is it expired or mistyped?)"
	case errors.Is(err, transport.ErrAuthorizationFailed):
		return " (the token is valid but may not read this repository)"
	case errors.Is(err, transport.ErrRepositoryNotFound) && r.auth == nil:
		return " (or it is private and no token was given)"
	}
	return ""
}

// expand gives the full ref names a short name may mean, in the order git
// tries them (gitrevisions(7)).
func expand(ref string) []string {
	if ref == "HEAD" || strings.HasPrefix(ref, "refs/") {
		return []string{ref}
	}
	return []string{"refs/" + ref, "refs/tags/" + ref, "refs/heads/" + ref, "refs/remotes/" + ref}
}

// pointingAt returns the ref that points at commit: hint if it does,
// otherwise a branch, then a tag, then any other ref, by name.
func pointingAt(refs map[string]plumbing.Hash, commit plumbing.Hash, hint string) string {
	if hint != "" {
		for _, name := range expand(hint) {
			if refs[name] == commit {
				return name
			}
		}
	}
	var names []string
	for name, h := range refs {
		if h == commit && name != "HEAD" {
			names = append(names, name)
		}
	}
	rank := func(n string) int {
		switch {
		case strings.HasPrefix(n, "refs/heads/"):
			return 0
		case strings.HasPrefix(n, "refs/tags/"):
			return 1
		}
		return 2
	}
	sort.Slice(names, func(i, j int) bool {
		if ri, rj := rank(names[i]), rank(names[j]); ri != rj {
			return ri < rj
		}
		return names[i] < names[j]
	})
	if len(names) == 0 {
		return ""
	}
	return names[0]
}

// fetchRef is the local ref a fetch of one commit records it under.
const fetchRef = "refs/phalanx/fetch"

// fetchCommit fetches commit into repo, whose remote "origin" is r.url,
// as shallowly as the server allows: the ref that points at it with depth
// 1, else the bare hash with depth 1, else the hinted ref's whole history.
func (r *remote) fetchCommit(ctx context.Context, repo *git.Repository, commit plumbing.Hash, hint string) error {
	refs, err := r.refs(ctx)
	if err != nil {
		return err
	}
	if name := pointingAt(refs, commit, hint); name != "" {
		if err := r.fetch(ctx, repo, name, 1); err != nil {
			return r.errorf("fetch %s (%s) from %s: %w", name, commit, r.url, err)
		}
		return r.check(repo, commit, "")
	}
	err = r.fetch(ctx, repo, commit.String(), 1)
	if err == nil {
		return r.check(repo, commit, "")
	}
	if !errors.Is(err, git.ErrExactSHA1NotSupported) && !refused(err) {
		return r.errorf("fetch commit %s from %s: %w", commit, r.url, err)
	}
	why := fmt.Sprintf("no ref of %s points at commit %s and the server refuses to send a commit by hash (it needs uploadpack.allowReachableSHA1InWant)", r.url, commit)
	if hint == "" {
		return r.errorf("%s; no ref was named to look for it in: %w", why, ErrCommitNotFound)
	}
	name := ""
	for _, n := range expand(hint) {
		if _, ok := refs[n]; ok {
			name = n
			break
		}
	}
	if name == "" {
		return r.errorf("%s; ref %q is not on the server either: %w", why, hint, ErrCommitNotFound)
	}
	if err := r.fetch(ctx, repo, name, 0); err != nil {
		return r.errorf("%s; fetching the whole history of %s: %w", why, name, err)
	}
	return r.check(repo, commit, fmt.Sprintf("%s; fetched the whole history of %s", why, name))
}

// refused reports whether err is a server's refusal of a want.
func refused(err error) bool {
	s := err.Error()
	return strings.Contains(s, "not our ref") || strings.Contains(s, "upload-pack: not our") ||
		strings.Contains(s, "want") && strings.Contains(s, "not valid")
}

// fetch fetches src (a ref name or a hash) into fetchRef, depth 0 meaning
// all of its history.
func (r *remote) fetch(ctx context.Context, repo *git.Repository, src string, depth int) error {
	err := repo.FetchContext(ctx, &git.FetchOptions{
		RemoteName: "origin",
		RefSpecs:   []config.RefSpec{config.RefSpec("+" + src + ":" + fetchRef)},
		Depth:      depth,
		Auth:       r.auth,
		Tags:       git.NoTags,
		Force:      true,
	})
	if errors.Is(err, git.NoErrAlreadyUpToDate) {
		return nil
	}
	return err
}

// check makes sure the fetch brought commit; how says what was tried.
func (r *remote) check(repo *git.Repository, commit plumbing.Hash, how string) error {
	if _, err := repo.CommitObject(commit); err != nil {
		if how == "" {
			how = "fetched"
		}
		return r.errorf("%s: commit %s is not in %s: %w", how, commit, r.url, ErrCommitNotFound)
	}
	return nil
}

// parseHash checks that s is a full commit hash.
func parseHash(what, s string) (plumbing.Hash, error) {
	l := strings.ToLower(s)
	if !hashRE.MatchString(l) {
		return plumbing.ZeroHash, fmt.Errorf("gitsource: %s %q is not a full 40-character commit hash", what, s)
	}
	return plumbing.NewHash(l), nil
}
