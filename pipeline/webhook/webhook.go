package webhook

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/phalanx-sched/phalanx/pipeline"
)

// MaxBody is the largest body ReadBody accepts, 10 MiB. GitHub caps its
// payloads at 25 MB, but lists at most 20 commits in a push, which stays far
// below this; a larger body is refused (a handler answers 413).
const MaxBody = 10 << 20

// Forges, the first argument of Verify and Parse.
const (
	GitHub  = "github"
	GitLab  = "gitlab"
	Gitea   = "gitea"
	Generic = "generic"
)

// Forges lists the forges Verify and Parse know.
var Forges = []string{GitHub, GitLab, Gitea, Generic}

var (
	// ErrUnauthorized: the request's signature or token is missing or
	// wrong.
	ErrUnauthorized = errors.New("webhook: signature or token missing or wrong")
	// ErrNoSecret: the repository has no webhook secret, so every request
	// is refused.
	ErrNoSecret = errors.New("webhook: no secret configured for this repository; every delivery is refused")
	// ErrIgnored is wrapped, with the reason, by Parse's error for a
	// delivery that starts nothing: a ping, a branch or tag deletion, a
	// closed pull request, an event kind Phalanx does not build.
	ErrIgnored = errors.New("webhook: delivery ignored")
	// ErrTooLarge: the body is over MaxBody.
	ErrTooLarge = errors.New("webhook: body larger than 10 MiB")
	// ErrUnknownForge is wrapped for a forge not in Forges.
	ErrUnknownForge = errors.New("webhook: unknown forge")
)

// Delivery is one webhook delivery, verified and parsed.
type Delivery struct {
	// Forge is GitHub, GitLab, Gitea or Generic.
	Forge string
	// ID identifies the delivery for de-duplication: X-GitHub-Delivery,
	// X-Gitea-Delivery, X-Gitlab-Event-UUID (or Idempotency-Key), and for
	// the generic forge the X-Phalanx-Delivery header or the body's
	// "delivery" field. Empty when the sender gave none.
	ID string
	// CloneURL is the repository's clone URL, from the payload.
	CloneURL string
	// RepoName is the repository's "owner/name" (GitLab: the full
	// namespace path, "group/subgroup/name").
	RepoName string
	// Event is what to run: Kind, Repo (= RepoName), Ref, Branch, Tag,
	// Commit, PullRequest, and ChangedFiles, the union of the added,
	// modified and removed files of the payload's commits when it lists
	// them, else nil (unknown). For a pull request, Branch is the target
	// branch, Commit the head commit and Ref the forge's ref for the
	// head ("refs/pull/7/head", GitLab "refs/merge-requests/7/head").
	Event pipeline.Event
	// Before is the commit the ref pointed at before a push; empty or all
	// zeros for a new branch, and empty for pull requests.
	Before string
}

// Verify checks, in constant time, that the request comes from the holder
// of secret:
//   - github: X-Hub-Signature-256 is "sha256=" and the hex HMAC-SHA256 of
//     body keyed with secret;
//   - gitea: X-Gitea-Signature is the hex HMAC-SHA256 of body (Gitea's
//     X-Hub-Signature-256 is accepted too);
//   - gitlab: X-Gitlab-Token equals secret;
//   - generic: "Authorization: Bearer <secret>" or X-Phalanx-Token equals
//     secret.
//
// An empty secret gives ErrNoSecret whatever the request holds; a missing or
// wrong signature gives an error wrapping ErrUnauthorized.
func Verify(forge string, h http.Header, body []byte, secret []byte) error {
	return verify(forge, h, body, secret)
}

// Parse turns a verified body into a Delivery. A push to a branch is a
// pipeline.EventPush, a pushed tag a pipeline.EventTag, and a pull request
// opened, synchronized (new commits) or reopened (GitLab: a merge request
// opened, reopened or updated with new commits) a pipeline.EventPullRequest.
// Everything else, branch and tag deletions included, gives an error
// wrapping ErrIgnored. A malformed body gives an error naming the field.
func Parse(forge string, h http.Header, body []byte) (Delivery, error) {
	return parse(forge, h, body)
}

// ReadBody reads r to its end, or gives ErrTooLarge once more than MaxBody
// bytes arrive (a handler then answers 413).
func ReadBody(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxBody+1))
	if err != nil {
		return nil, fmt.Errorf("webhook: reading the body: %w", err)
	}
	if len(b) > MaxBody {
		return nil, ErrTooLarge
	}
	return b, nil
}

// ignored returns an error wrapping ErrIgnored with the reason.
func ignored(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrIgnored, fmt.Sprintf(format, args...))
}

func unknownForge(forge string) error {
	return fmt.Errorf("%w %q; want one of %s", ErrUnknownForge, forge, strings.Join(Forges, ", "))
}
