package webhook

import (
	"net/http"
)

// GenericPayload is the body of a generic delivery, as
// examples/hooks/post-receive sends it: one ref update. Unknown fields are
// refused.
type GenericPayload struct {
	// Ref is the full ref updated: "refs/heads/main", "refs/tags/v1.2".
	Ref string `json:"ref"`
	// Before is the commit the ref pointed at; empty or all zeros for a
	// new ref.
	Before string `json:"before"`
	// After is the commit it points at now (for an annotated tag, the
	// commit the tag points at); all zeros for a deletion.
	After      string `json:"after"`
	Repository struct {
		// CloneURL is where Phalanx fetches the repository from.
		CloneURL string `json:"clone_url"`
		// FullName is the repository's "owner/name".
		FullName string `json:"full_name"`
	} `json:"repository"`
	// Delivery is an optional delivery ID; the X-Phalanx-Delivery header
	// wins over it.
	Delivery string `json:"delivery,omitempty"`
}

func parseGeneric(h http.Header, body []byte) (Delivery, error) {
	const what = "generic"
	var p GenericPayload
	if err := decode(what, body, &p, true); err != nil {
		return Delivery{}, err
	}
	push := pushPayload{Ref: p.Ref, Before: p.Before, After: p.After}
	// The payload lists no commits: ChangedFiles stays nil, and the
	// server can diff Before and After itself.
	d, err := push.delivery(what, "", false)
	if err != nil {
		return Delivery{}, err
	}
	d.ID = p.Delivery
	if id := h.Get("X-Phalanx-Delivery"); id != "" {
		d.ID = id
	}
	return d.repo(what, "repository.clone_url", p.Repository.CloneURL, "repository.full_name", p.Repository.FullName)
}
