package handler

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/phalanx-sched/phalanx/api"
	"github.com/phalanx-sched/phalanx/pipeline/webhook"
)

// PipelineBackend is the pipeline half of Backend: repos, secrets, runs.
type PipelineBackend interface {
	PutRepo(ctx context.Context, req api.RepoRequest) (*api.RepoInfo, error)
	Repo(name string) (*api.RepoInfo, error)
	Repos() []*api.RepoInfo
	// HookRepo returns a repo with its webhook secret, to check a
	// delivery with; never served.
	HookRepo(name string) (*api.Repo, error)
	DeleteRepo(ctx context.Context, name string) error
	SetSecret(ctx context.Context, repo, name, value string) error
	DeleteSecret(ctx context.Context, repo, name string) error
	// CreateRun records a run (and its delivery) once replicated; a
	// delivery ID seen before gives the earlier run, Duplicate set.
	CreateRun(ctx context.Context, run api.Run) (*api.HookResult, error)
	ManualRun(ctx context.Context, repo, ref string) (*api.Run, error)
	Run(id string) (*api.Run, error)
	Runs(repo string) []*api.Run
	CancelRun(ctx context.Context, id string) (*api.Run, error)
	// StepJob returns a run step's latest job, waiting for one with wait.
	StepJob(ctx context.Context, runID, step string, wait bool) (string, error)
}

func (h *handler) pipelineRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /v1/repos", h.putRepo)
	mux.HandleFunc("GET /v1/repos", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, h.b.Repos()) })
	mux.HandleFunc("GET /v1/repos/{name}", h.getRepo)
	mux.HandleFunc("DELETE /v1/repos/{name}", h.deleteRepo)
	mux.HandleFunc("PUT /v1/repos/{name}/secrets/{secret}", h.setSecret)
	mux.HandleFunc("DELETE /v1/repos/{name}/secrets/{secret}", h.deleteSecret)
	mux.HandleFunc("POST /v1/repos/{name}/runs", h.manualRun)
	mux.HandleFunc("GET /v1/runs", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, h.b.Runs(r.URL.Query().Get("repo")))
	})
	mux.HandleFunc("GET /v1/runs/{id}", h.getRun)
	mux.HandleFunc("DELETE /v1/runs/{id}", h.cancelRun)
	mux.HandleFunc("GET /v1/runs/{id}/steps/{step}/logs", h.stepLogs)
	mux.HandleFunc("POST /v1/hooks/{forge}", h.hook)
}

func (h *handler) putRepo(w http.ResponseWriter, r *http.Request) {
	var req api.RepoRequest
	if err := h.decode(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	info, err := h.b.PutRepo(r.Context(), req)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, info)
}

func (h *handler) getRepo(w http.ResponseWriter, r *http.Request) {
	info, err := h.b.Repo(r.PathValue("name"))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, info)
}

func (h *handler) deleteRepo(w http.ResponseWriter, r *http.Request) {
	if err := h.b.DeleteRepo(r.Context(), r.PathValue("name")); err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *handler) setSecret(w http.ResponseWriter, r *http.Request) {
	var req api.SecretRequest
	if err := h.decode(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	if err := h.b.SetSecret(r.Context(), r.PathValue("name"), r.PathValue("secret"), req.Value); err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *handler) deleteSecret(w http.ResponseWriter, r *http.Request) {
	if err := h.b.DeleteSecret(r.Context(), r.PathValue("name"), r.PathValue("secret")); err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *handler) manualRun(w http.ResponseWriter, r *http.Request) {
	var req api.RunRequest
	if err := h.decode(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	run, err := h.b.ManualRun(r.Context(), r.PathValue("name"), req.Ref)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, run)
}

func (h *handler) getRun(w http.ResponseWriter, r *http.Request) {
	run, err := h.b.Run(r.PathValue("id"))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, run)
}

func (h *handler) cancelRun(w http.ResponseWriter, r *http.Request) {
	run, err := h.b.CancelRun(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, run)
}

// stepLogs streams the output of a run step's latest job; ?follow=1 waits
// for the step to start and streams until it ends.
func (h *handler) stepLogs(w http.ResponseWriter, r *http.Request) {
	follow := r.URL.Query().Get("follow") == "1" || r.URL.Query().Get("follow") == "true"
	jobID, err := h.b.StepJob(r.Context(), r.PathValue("id"), r.PathValue("step"), follow)
	if err != nil {
		writeError(w, err)
		return
	}
	h.streamLogs(w, r, jobID, "", follow)
}

// hook takes a webhook delivery for the repo named by ?repo=: it checks the
// sender against the repo's webhook secret, records the run and the
// delivery through Raft, and answers 202 with the run's ID; the leader
// reads the pipeline file afterwards. A delivery seen before answers 200
// with Duplicate set, one that starts nothing (a branch deletion, a ping)
// 200 with Ignored set.
func (h *handler) hook(w http.ResponseWriter, r *http.Request) {
	forge := r.PathValue("forge")
	if !slices.Contains(webhook.Forges, forge) {
		writeError(w, fmt.Errorf("no webhook endpoint for %q; there are %v: %w", forge, webhook.Forges, api.ErrNotFound))
		return
	}
	name := r.URL.Query().Get("repo")
	if name == "" {
		writeError(w, fmt.Errorf("the hook URL names no repo: add ?repo=NAME (see phalanx repo list): %w", api.ErrInvalid))
		return
	}
	body, err := webhook.ReadBody(r.Body)
	if errors.Is(err, webhook.ErrTooLarge) {
		writeError(w, &statusError{http.StatusRequestEntityTooLarge, err.Error()})
		return
	}
	if err != nil {
		writeError(w, fmt.Errorf("read body: %v: %w", err, api.ErrInvalid))
		return
	}
	repo, err := h.b.HookRepo(name)
	if err != nil {
		writeError(w, err)
		return
	}
	err = webhook.Verify(forge, r.Header, body, []byte(repo.WebhookSecret))
	switch {
	case errors.Is(err, webhook.ErrNoSecret):
		writeError(w, &statusError{http.StatusForbidden, fmt.Sprintf("repo %s has no webhook secret, so every delivery is refused: set one with phalanx repo add %s --webhook-secret-file F", name, name)})
		return
	case err != nil:
		writeError(w, &statusError{http.StatusUnauthorized, err.Error()})
		return
	}
	d, err := webhook.Parse(forge, r.Header, body)
	if errors.Is(err, webhook.ErrIgnored) {
		writeJSON(w, http.StatusOK, api.HookResult{Ignored: err.Error()})
		return
	}
	if err != nil {
		writeError(w, fmt.Errorf("%v: %w", err, api.ErrInvalid))
		return
	}
	ev := d.Event
	run := api.Run{Repo: name, Event: ev.Kind, Ref: ev.Ref, Branch: ev.Branch, Tag: ev.Tag, Commit: ev.Commit,
		Before: d.Before, PullRequest: ev.PullRequest}
	if d.ID != "" {
		run.DeliveryID = forge + ":" + name + ":" + d.ID
	}
	res, err := h.b.CreateRun(r.Context(), run)
	if err != nil {
		writeError(w, err)
		return
	}
	code := http.StatusAccepted
	if res.Duplicate {
		code = http.StatusOK
	}
	writeJSON(w, code, res)
}
