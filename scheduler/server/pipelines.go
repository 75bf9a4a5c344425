package server

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/phalanx-sched/phalanx/api"
	"github.com/phalanx-sched/phalanx/pipeline"
	"github.com/phalanx-sched/phalanx/pipeline/gitsource"
	"github.com/phalanx-sched/phalanx/scheduler/fsm"
)

// These are the pipeline methods the HTTP API calls: repos, their secrets,
// and runs.

var (
	repoName   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)
	secretName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,127}$`)
)

// PutRepo adds a repo, or replaces the one with its name (an empty webhook
// secret or token keeps the old one).
func (s *Server) PutRepo(ctx context.Context, req api.RepoRequest) (*api.RepoInfo, error) {
	switch {
	case !repoName.MatchString(req.Name):
		return nil, fmt.Errorf("repo name %q: want letters, digits, '.', '_' or '-', at most 63: %w", req.Name, api.ErrInvalid)
	case req.URL == "":
		return nil, fmt.Errorf("repo %s: url is required: %w", req.Name, api.ErrInvalid)
	case urlHasCredentials(req.URL):
		// The URL is shown (repo list, run messages, allocations); the
		// error does not repeat it.
		return nil, fmt.Errorf("repo %s: the url holds credentials (user:token@); give the URL without them and the token with --token-file, which is never shown: %w", req.Name, api.ErrInvalid)
	}
	repo := api.Repo{Name: req.Name, URL: req.URL, Queue: req.Queue, AllowPRSecrets: req.AllowPRSecrets,
		WebhookSecret: req.WebhookSecret, Token: req.Token}
	if _, err := s.apply(fsm.CmdRepoPut, &fsm.RepoPut{Repo: repo}); err != nil {
		return nil, err
	}
	return s.Repo(req.Name)
}

// urlHasCredentials reports whether a repository URL has user information
// ("https://user:token@host/..." or "https://token@host/...").
func urlHasCredentials(raw string) bool {
	scheme, rest, ok := strings.Cut(raw, "://")
	if scheme = strings.ToLower(scheme); !ok || (scheme != "http" && scheme != "https") {
		return false
	}
	host, _, _ := strings.Cut(rest, "/")
	return strings.Contains(host, "@")
}

// Repo returns one repo without its secrets.
func (s *Server) Repo(name string) (*api.RepoInfo, error) {
	snap := s.state.Snapshot()
	r, err := snap.Repo(name)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, sec := range snap.RepoSecrets(name) {
		names = append(names, sec.Name)
	}
	return r.Info(names), nil
}

// Repos lists every repo without its secrets.
func (s *Server) Repos() []*api.RepoInfo {
	out := []*api.RepoInfo{}
	for _, r := range s.state.Snapshot().Repos() {
		if info, err := s.Repo(r.Name); err == nil {
			out = append(out, info)
		}
	}
	return out
}

// HookRepo returns a repo with its webhook secret, for checking a
// delivery. It is never served over HTTP.
func (s *Server) HookRepo(name string) (*api.Repo, error) {
	return s.state.Snapshot().Repo(name)
}

// DeleteRepo removes a repo and its secrets; its runs stay.
func (s *Server) DeleteRepo(ctx context.Context, name string) error {
	_, err := s.apply(fsm.CmdRepoDelete, &fsm.RepoDelete{Name: name})
	return err
}

// SetSecret sets a secret of a repo, injected as the environment variable
// name into the steps that list it.
func (s *Server) SetSecret(ctx context.Context, repo, name, value string) error {
	switch {
	case !secretName.MatchString(name):
		return fmt.Errorf("secret name %q: want an environment variable name (letters, digits, '_'; not starting with a digit): %w", name, api.ErrInvalid)
	case strings.HasPrefix(name, "PHALANX_"):
		return fmt.Errorf("secret name %q: PHALANX_ variables are set by Phalanx: %w", name, api.ErrInvalid)
	case len(value) > api.MaxSecretBytes:
		return fmt.Errorf("secret %s: %d bytes, at most %d: %w", name, len(value), api.MaxSecretBytes, api.ErrInvalid)
	}
	_, err := s.apply(fsm.CmdSecretPut, &fsm.SecretPut{Secret: api.Secret{Repo: repo, Name: name, Value: value}})
	return err
}

// DeleteSecret removes a secret of a repo.
func (s *Server) DeleteSecret(ctx context.Context, repo, name string) error {
	_, err := s.apply(fsm.CmdSecretDelete, &fsm.SecretDelete{Repo: repo, Name: name})
	return err
}

// CreateRun records a new run of run.Repo (its event, ref and commit set
// by the caller) and, with run.DeliveryID, the webhook delivery that
// started it, in one Raft entry. It returns once both are replicated; the
// leader then reads and compiles the pipeline file in the background. A
// delivery ID seen before creates nothing: the result names the first
// delivery's run and says Duplicate.
func (s *Server) CreateRun(ctx context.Context, run api.Run) (*api.HookResult, error) {
	if run.Commit == "" {
		return nil, fmt.Errorf("run of %s has no commit: %w", run.Repo, api.ErrInvalid)
	}
	if run.DeliveryID != "" {
		if d, err := s.state.Snapshot().Delivery(run.DeliveryID); err == nil {
			return &api.HookResult{Run: d.RunID, Duplicate: true}, nil
		}
	}
	run.ID = newJobID(run.Repo)
	run.CreateTime = s.cfg.Now()
	resp, err := s.apply(fsm.CmdRunCreate, &fsm.RunCreate{Run: run})
	if err != nil {
		return nil, err
	}
	rc := resp.(*fsm.RunCreated)
	return &api.HookResult{Run: rc.RunID, Duplicate: rc.Duplicate}, nil
}

// ManualRun starts a run of a repo's ref (a branch, tag, full ref or
// commit), resolved to a commit now.
func (s *Server) ManualRun(ctx context.Context, repoName, ref string) (*api.Run, error) {
	repo, err := s.state.Snapshot().Repo(repoName)
	if err != nil {
		return nil, err
	}
	if ref == "" {
		ref = "HEAD"
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.FetchTimeout)
	defer cancel()
	commit, err := gitsource.ResolveRef(ctx, repo.URL, gitsource.Auth{Token: repo.Token}, ref)
	if errors.Is(err, gitsource.ErrRefNotFound) || errors.Is(err, gitsource.ErrCommitNotFound) {
		return nil, fmt.Errorf("repo %s: %v: %w", repoName, err, api.ErrInvalid)
	}
	if err != nil {
		return nil, fmt.Errorf("repo %s: resolve %s: %w", repoName, ref, err)
	}
	run := api.Run{Repo: repoName, Event: pipeline.EventManual, Commit: commit}
	switch {
	case strings.HasPrefix(ref, "refs/heads/"):
		run.Ref, run.Branch = ref, strings.TrimPrefix(ref, "refs/heads/")
	case strings.HasPrefix(ref, "refs/tags/"):
		run.Ref, run.Tag = ref, strings.TrimPrefix(ref, "refs/tags/")
	case strings.HasPrefix(ref, "refs/"), ref == "HEAD", ref == commit:
		run.Ref = ref
	default:
		run.Ref, run.Branch = "refs/heads/"+ref, ref
		if c, err := gitsource.ResolveRef(ctx, repo.URL, gitsource.Auth{Token: repo.Token}, "refs/heads/"+ref); err != nil || c != commit {
			run.Ref, run.Branch = "refs/tags/"+ref, ""
			run.Tag = ref
		}
	}
	res, err := s.CreateRun(ctx, run)
	if err != nil {
		return nil, err
	}
	return s.Run(res.Run)
}

// Run returns one run, by ID or unique ID prefix.
func (s *Server) Run(id string) (*api.Run, error) {
	return s.state.Snapshot().LookupRun(id)
}

// Runs lists the runs of repo (every run when repo is ""), oldest first.
func (s *Server) Runs(repo string) []*api.Run {
	out := s.state.Snapshot().Runs(repo)
	if out == nil {
		out = []*api.Run{}
	}
	return out
}

// CancelRun cancels a run that has not finished, and stops its steps' jobs.
func (s *Server) CancelRun(ctx context.Context, id string) (*api.Run, error) {
	r, err := s.state.Snapshot().LookupRun(id)
	if err != nil {
		return nil, err
	}
	if _, err := s.apply(fsm.CmdRunCancel, &fsm.RunCancel{RunID: r.ID, Reason: "cancelled by user", Time: s.cfg.Now()}); err != nil {
		return nil, err
	}
	return s.Run(r.ID)
}

// StepJob returns the latest job of a run's step. With wait set it blocks
// until the step has one (or the run ends without it, or ctx ends).
func (s *Server) StepJob(ctx context.Context, runID, step string, wait bool) (string, error) {
	for {
		changed := s.state.Changed()
		r, err := s.state.Snapshot().LookupRun(runID)
		if err != nil {
			return "", err
		}
		st := r.Step(step)
		if st == nil && r.Compiled {
			return "", fmt.Errorf("run %s has no step %q: %w", r.ID, step, api.ErrNotFound)
		}
		if st != nil && st.JobID() != "" {
			return st.JobID(), nil
		}
		if !wait || r.State.Terminal() || (st != nil && st.State.Terminal()) {
			why := r.Message
			if st != nil {
				why = fmt.Sprintf("%s: %s", st.State, st.Reason)
			}
			return "", fmt.Errorf("step %s of run %s has not started (%s): %w", step, r.ID, why, api.ErrNotFound)
		}
		select {
		case <-ctx.Done():
			return "", errors.Join(ctx.Err(), api.ErrNotFound)
		case <-changed:
		}
	}
}
