package webhook

import (
	"net/http"
)

// gitHubMaxCommits is the most commits GitHub lists in a push payload;
// a push listing that many may have more, so its files are unknown.
const gitHubMaxCommits = 2048

type gitHubRepo struct {
	FullName string `json:"full_name"`
	CloneURL string `json:"clone_url"`
}

type gitHubPush struct {
	pushPayload
	Deleted    bool       `json:"deleted"`
	HeadCommit *commit    `json:"head_commit"`
	Repository gitHubRepo `json:"repository"`
}

type gitHubPullRequest struct {
	Action      string `json:"action"`
	Number      int    `json:"number"`
	PullRequest struct {
		Head struct {
			SHA string `json:"sha"`
		} `json:"head"`
		Base struct {
			Ref string `json:"ref"`
		} `json:"base"`
	} `json:"pull_request"`
	Repository gitHubRepo `json:"repository"`
}

func parseGitHub(h http.Header, body []byte) (Delivery, error) {
	event := h.Get("X-GitHub-Event")
	id := h.Get("X-GitHub-Delivery")
	var (
		d   Delivery
		err error
	)
	switch event {
	case "push":
		d, err = gitHubPushDelivery(body)
	case "pull_request":
		d, err = gitHubPRDelivery(body)
	case "":
		return Delivery{}, ignored("github: no X-GitHub-Event header")
	case "ping":
		return Delivery{}, ignored("github ping")
	default:
		return Delivery{}, ignored("github %s events do not start pipelines", event)
	}
	d.ID = id
	return d, err
}

func gitHubPushDelivery(body []byte) (Delivery, error) {
	const what = "github push"
	var p gitHubPush
	if err := decode(what, body, &p, false); err != nil {
		return Delivery{}, err
	}
	if p.Deleted {
		return Delivery{}, ignored("%s deletes %s", what, p.Ref)
	}
	peeled := ""
	if p.HeadCommit != nil {
		peeled = p.HeadCommit.ID // an annotated tag's after is the tag object
	}
	d, err := p.delivery(what, peeled, len(p.Commits) < gitHubMaxCommits)
	if err != nil {
		return Delivery{}, err
	}
	return d.repo(what, "repository.clone_url", p.Repository.CloneURL, "repository.full_name", p.Repository.FullName)
}

func gitHubPRDelivery(body []byte) (Delivery, error) {
	const what = "github pull_request"
	var p gitHubPullRequest
	if err := decode(what, body, &p, false); err != nil {
		return Delivery{}, err
	}
	switch p.Action {
	case "opened", "synchronize", "reopened":
	default:
		return Delivery{}, ignored("%s action %q does not start pipelines (opened, synchronize and reopened do)", what, p.Action)
	}
	d, err := pullRequest(what, p.Number, p.PullRequest.Base.Ref, p.PullRequest.Head.SHA, "refs/pull/N/head")
	if err != nil {
		return Delivery{}, err
	}
	return d.repo(what, "repository.clone_url", p.Repository.CloneURL, "repository.full_name", p.Repository.FullName)
}
