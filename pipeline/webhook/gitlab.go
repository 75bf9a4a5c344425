package webhook

import (
	"net/http"
)

type gitLabProject struct {
	PathWithNamespace string `json:"path_with_namespace"`
	GitHTTPURL        string `json:"git_http_url"`
}

type gitLabPush struct {
	pushPayload
	ObjectKind        string        `json:"object_kind"`
	CheckoutSHA       *string       `json:"checkout_sha"`
	TotalCommitsCount *int          `json:"total_commits_count"`
	Project           gitLabProject `json:"project"`
}

type gitLabMergeRequest struct {
	ObjectKind       string        `json:"object_kind"`
	Project          gitLabProject `json:"project"`
	ObjectAttributes struct {
		IID          int    `json:"iid"`
		TargetBranch string `json:"target_branch"`
		Action       string `json:"action"`
		OldRev       string `json:"oldrev"`
		LastCommit   struct {
			ID string `json:"id"`
		} `json:"last_commit"`
	} `json:"object_attributes"`
}

func parseGitLab(h http.Header, body []byte) (Delivery, error) {
	event := h.Get("X-Gitlab-Event")
	// Idempotency-Key is GitLab's retry-stable ID; older GitLab sends only
	// X-Gitlab-Event-UUID.
	id := firstHeader(h, "Idempotency-Key", "X-Gitlab-Event-UUID")
	if event == "System Hook" {
		// System hooks carry project events with object_kind saying which.
		var k struct {
			ObjectKind string `json:"object_kind"`
		}
		if err := decode("gitlab system hook", body, &k, false); err != nil {
			return Delivery{}, err
		}
		event = map[string]string{"push": "Push Hook", "tag_push": "Tag Push Hook", "merge_request": "Merge Request Hook"}[k.ObjectKind]
		if event == "" {
			return Delivery{}, ignored("gitlab system hook %q events do not start pipelines", k.ObjectKind)
		}
	}
	var (
		d   Delivery
		err error
	)
	switch event {
	case "Push Hook":
		d, err = gitLabPushDelivery("gitlab push", body)
	case "Tag Push Hook":
		d, err = gitLabPushDelivery("gitlab tag_push", body)
	case "Merge Request Hook":
		d, err = gitLabMRDelivery(body)
	case "":
		return Delivery{}, ignored("gitlab: no X-Gitlab-Event header")
	default:
		return Delivery{}, ignored("gitlab %s events do not start pipelines", event)
	}
	d.ID = id
	return d, err
}

func gitLabPushDelivery(what string, body []byte) (Delivery, error) {
	var p gitLabPush
	if err := decode(what, body, &p, false); err != nil {
		return Delivery{}, err
	}
	peeled := ""
	if p.CheckoutSHA != nil {
		peeled = *p.CheckoutSHA // an annotated tag's after is the tag object
	}
	// GitLab lists at most 20 commits; total_commits_count has them all.
	complete := p.TotalCommitsCount == nil || *p.TotalCommitsCount <= len(p.Commits)
	d, err := p.delivery(what, peeled, complete)
	if err != nil {
		return Delivery{}, err
	}
	return d.repo(what, "project.git_http_url", p.Project.GitHTTPURL, "project.path_with_namespace", p.Project.PathWithNamespace)
}

func gitLabMRDelivery(body []byte) (Delivery, error) {
	const what = "gitlab merge_request"
	var p gitLabMergeRequest
	if err := decode(what, body, &p, false); err != nil {
		return Delivery{}, err
	}
	a := p.ObjectAttributes
	switch {
	case a.Action == "open", a.Action == "reopen":
	case a.Action == "update" && a.OldRev != "":
		// oldrev is set only when the update pushed commits.
	case a.Action == "update":
		return Delivery{}, ignored("%s update without new commits", what)
	default:
		return Delivery{}, ignored("%s action %q does not start pipelines (open, reopen and update with new commits do)", what, a.Action)
	}
	d, err := pullRequest(what, a.IID, a.TargetBranch, a.LastCommit.ID, "refs/merge-requests/N/head")
	if err != nil {
		return Delivery{}, err
	}
	return d.repo(what, "project.git_http_url", p.Project.GitHTTPURL, "project.path_with_namespace", p.Project.PathWithNamespace)
}
