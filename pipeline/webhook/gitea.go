package webhook

import (
	"net/http"
)

type giteaRepo struct {
	FullName string `json:"full_name"`
	CloneURL string `json:"clone_url"`
}

type giteaPush struct {
	pushPayload
	TotalCommits *int      `json:"total_commits"`
	HeadCommit   *commit   `json:"head_commit"`
	Repository   giteaRepo `json:"repository"`
}

type giteaPullRequest struct {
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
	Repository giteaRepo `json:"repository"`
}

func parseGitea(h http.Header, body []byte) (Delivery, error) {
	// Forgejo and Gogs send the same payloads under their own header names.
	event := firstHeader(h, "X-Gitea-Event", "X-Forgejo-Event", "X-Gogs-Event")
	id := firstHeader(h, "X-Gitea-Delivery", "X-Forgejo-Delivery", "X-Gogs-Delivery")
	var (
		d   Delivery
		err error
	)
	switch event {
	case "push":
		d, err = giteaPushDelivery(body)
	case "pull_request":
		d, err = giteaPRDelivery(body)
	case "":
		return Delivery{}, ignored("gitea: no X-Gitea-Event header")
	case "create", "delete":
		// A new tag or branch also comes as a push; a deletion needs
		// no build.
		return Delivery{}, ignored("gitea %s events do not start pipelines (the push event of the same ref does)", event)
	default:
		return Delivery{}, ignored("gitea %s events do not start pipelines", event)
	}
	d.ID = id
	return d, err
}

func giteaPushDelivery(body []byte) (Delivery, error) {
	const what = "gitea push"
	var p giteaPush
	if err := decode(what, body, &p, false); err != nil {
		return Delivery{}, err
	}
	peeled := ""
	if p.HeadCommit != nil {
		peeled = p.HeadCommit.ID
	}
	complete := p.TotalCommits == nil || *p.TotalCommits <= len(p.Commits)
	d, err := p.delivery(what, peeled, complete)
	if err != nil {
		return Delivery{}, err
	}
	return d.repo(what, "repository.clone_url", p.Repository.CloneURL, "repository.full_name", p.Repository.FullName)
}

func giteaPRDelivery(body []byte) (Delivery, error) {
	const what = "gitea pull_request"
	var p giteaPullRequest
	if err := decode(what, body, &p, false); err != nil {
		return Delivery{}, err
	}
	switch p.Action {
	case "opened", "synchronized", "reopened":
	default:
		return Delivery{}, ignored("%s action %q does not start pipelines (opened, synchronized and reopened do)", what, p.Action)
	}
	d, err := pullRequest(what, p.Number, p.PullRequest.Base.Ref, p.PullRequest.Head.SHA, "refs/pull/N/head")
	if err != nil {
		return Delivery{}, err
	}
	return d.repo(what, "repository.clone_url", p.Repository.CloneURL, "repository.full_name", p.Repository.FullName)
}
