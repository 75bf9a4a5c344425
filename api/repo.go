package api

// Repo is a git repository whose pushes, tags and pull requests start
// pipeline runs. WebhookSecret and Token are replicated so that any leader
// can verify hooks and fetch the repository; the HTTP API never returns
// them (see RepoInfo).
type Repo struct {
	Name string `json:"name"`
	// URL is what the control plane fetches .phalanx.yml from and what
	// executors clone into a run's workspace.
	URL string `json:"url"`
	// Queue, when set, is the queue every step's job goes to, whatever the
	// pipeline file says.
	Queue string `json:"queue,omitempty"`
	// AllowPRSecrets gives pull-request runs the repo's secrets. Off by
	// default: a pull request can change what its steps run.
	AllowPRSecrets bool `json:"allow_pr_secrets,omitempty"`
	// WebhookSecret verifies webhook deliveries (an HMAC key, or the
	// token of GitLab and generic hooks). Without one every hook for
	// the repo is refused.
	WebhookSecret string `json:"webhook_secret,omitempty"`
	// Token authenticates fetches of private repositories.
	Token       string `json:"token,omitempty"`
	CreateIndex uint64 `json:"create_index"`
	ModifyIndex uint64 `json:"modify_index"`
}

// RepoInfo is a repo as the HTTP API shows it: secrets are only said to be
// there.
type RepoInfo struct {
	Name             string `json:"name"`
	URL              string `json:"url"`
	Queue            string `json:"queue,omitempty"`
	AllowPRSecrets   bool   `json:"allow_pr_secrets"`
	HasWebhookSecret bool   `json:"has_webhook_secret"`
	HasToken         bool   `json:"has_token"`
	// Secrets are the names of the repo's secrets.
	Secrets     []string `json:"secrets"`
	CreateIndex uint64   `json:"create_index"`
	ModifyIndex uint64   `json:"modify_index"`
}

// Info is r without its secrets.
func (r *Repo) Info(secrets []string) *RepoInfo {
	if secrets == nil {
		secrets = []string{}
	}
	return &RepoInfo{
		Name: r.Name, URL: r.URL, Queue: r.Queue, AllowPRSecrets: r.AllowPRSecrets,
		HasWebhookSecret: r.WebhookSecret != "", HasToken: r.Token != "",
		Secrets: secrets, CreateIndex: r.CreateIndex, ModifyIndex: r.ModifyIndex,
	}
}

// RepoRequest is the body of POST /v1/repos: add a repo, or replace the
// one with that name. On a replace, an empty WebhookSecret or Token keeps
// the old one.
type RepoRequest struct {
	Name           string `json:"name"`
	URL            string `json:"url"`
	Queue          string `json:"queue,omitempty"`
	AllowPRSecrets bool   `json:"allow_pr_secrets,omitempty"`
	WebhookSecret  string `json:"webhook_secret,omitempty"`
	Token          string `json:"token,omitempty"`
}

// Secret is one secret value of a repo, injected into the steps that name
// it. Value is never returned by the HTTP API.
type Secret struct {
	Repo        string `json:"repo"`
	Name        string `json:"name"`
	Value       string `json:"value"`
	CreateIndex uint64 `json:"create_index"`
	ModifyIndex uint64 `json:"modify_index"`
}

// SecretRequest is the body of PUT /v1/repos/{name}/secrets/{secret}.
type SecretRequest struct {
	Value string `json:"value"`
}

// Delivery records a webhook delivery the cluster accepted, so that the
// forge's redelivery of it starts nothing.
type Delivery struct {
	// ID is the forge and its delivery ID: "github:72d3162e-...".
	ID    string `json:"id"`
	RunID string `json:"run_id"`
}

// MaxSecretBytes bounds one secret's value.
const MaxSecretBytes = 64 << 10
