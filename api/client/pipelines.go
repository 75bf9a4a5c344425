package client

import (
	"context"
	"io"
	"net/http"
	"net/url"

	"github.com/phalanx-sched/phalanx/api"
)

// PutRepo adds a repo, or replaces the one with its name.
func (c *Client) PutRepo(ctx context.Context, req api.RepoRequest) (*api.RepoInfo, error) {
	var out api.RepoInfo
	return &out, c.doJSON(ctx, http.MethodPost, "/v1/repos", req, &out)
}

// Repos lists every repo (never their secrets).
func (c *Client) Repos(ctx context.Context) ([]*api.RepoInfo, error) {
	var out []*api.RepoInfo
	return out, c.do(ctx, http.MethodGet, "/v1/repos", nil, nil, &out)
}

// Repo returns one repo, with the names of its secrets.
func (c *Client) Repo(ctx context.Context, name string) (*api.RepoInfo, error) {
	var out api.RepoInfo
	return &out, c.do(ctx, http.MethodGet, "/v1/repos/"+url.PathEscape(name), nil, nil, &out)
}

// DeleteRepo removes a repo and its secrets.
func (c *Client) DeleteRepo(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, "/v1/repos/"+url.PathEscape(name), nil, nil, nil)
}

// SetSecret sets a secret of a repo.
func (c *Client) SetSecret(ctx context.Context, repo, name, value string) error {
	return c.doJSON(ctx, http.MethodPut, "/v1/repos/"+url.PathEscape(repo)+"/secrets/"+url.PathEscape(name), api.SecretRequest{Value: value}, nil)
}

// DeleteSecret removes a secret of a repo.
func (c *Client) DeleteSecret(ctx context.Context, repo, name string) error {
	return c.do(ctx, http.MethodDelete, "/v1/repos/"+url.PathEscape(repo)+"/secrets/"+url.PathEscape(name), nil, nil, nil)
}

// StartRun starts a manual run of a repo's ref (branch, tag or commit).
func (c *Client) StartRun(ctx context.Context, repo, ref string) (*api.Run, error) {
	var out api.Run
	return &out, c.doJSON(ctx, http.MethodPost, "/v1/repos/"+url.PathEscape(repo)+"/runs", api.RunRequest{Ref: ref}, &out)
}

// Runs lists the runs of repo, or every run when repo is "", oldest first.
func (c *Client) Runs(ctx context.Context, repo string) ([]*api.Run, error) {
	var out []*api.Run
	path := "/v1/runs"
	if repo != "" {
		path += "?repo=" + url.QueryEscape(repo)
	}
	return out, c.do(ctx, http.MethodGet, path, nil, nil, &out)
}

// Run returns one run, by ID or unique prefix.
func (c *Client) Run(ctx context.Context, id string) (*api.Run, error) {
	var out api.Run
	return &out, c.do(ctx, http.MethodGet, "/v1/runs/"+url.PathEscape(id), nil, nil, &out)
}

// CancelRun cancels a run and stops its steps.
func (c *Client) CancelRun(ctx context.Context, id string) (*api.Run, error) {
	var out api.Run
	return &out, c.do(ctx, http.MethodDelete, "/v1/runs/"+url.PathEscape(id), nil, nil, &out)
}

// StepLogs streams a run step's output into w; follow waits for the step
// to start and streams until it ends or ctx is done.
func (c *Client) StepLogs(ctx context.Context, runID, step string, follow bool, w io.Writer) error {
	path := "/v1/runs/" + url.PathEscape(runID) + "/steps/" + url.PathEscape(step) + "/logs"
	if follow {
		path += "?follow=1"
	}
	resp, err := c.send(ctx, http.MethodGet, path, nil, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(w, resp.Body)
	if err != nil && ctx.Err() != nil {
		return nil
	}
	return err
}
