package docker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/phalanx-sched/phalanx/api"
	"github.com/phalanx-sched/phalanx/executor"
)

// logDrain bounds how long Wait waits, after the container has stopped, for
// the engine to finish streaming its output.
const logDrain = 10 * time.Second

// Runtime runs tasks as containers on the local Docker Engine. It is safe
// for concurrent use.
type Runtime struct {
	cfg Config
	cli *client.Client

	mu      sync.Mutex
	handles map[string]*handle     // by allocation ID
	locks   map[string]*sync.Mutex // serialises Start per allocation ID
}

var _ executor.Runtime = (*Runtime)(nil)

// New returns a runtime for the engine named by the environment
// (DOCKER_HOST and friends), with zero fields of cfg set to their defaults.
// It does not contact the engine; call Ping for that.
func New(cfg Config) (*Runtime, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("docker: %w", err)
	}
	// The client negotiates its API version on its first request, and
	// two first requests at once race on the result: negotiate now,
	// before the agent's goroutines share the client. A daemon that does
	// not answer leaves it to the first request.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cli.NegotiateAPIVersion(ctx)
	return &Runtime{cfg: cfg, cli: cli, handles: map[string]*handle{}, locks: map[string]*sync.Mutex{}}, nil
}

// Name returns "docker".
func (r *Runtime) Name() string { return "docker" }

// Ping reports whether the engine answers, so that a caller can fall back
// to another runtime.
func (r *Runtime) Ping(ctx context.Context) error {
	if _, err := r.cli.Ping(ctx); err != nil {
		return fmt.Errorf("docker: engine does not answer: %w", err)
	}
	return nil
}

// Close releases the client. Containers keep running.
func (r *Runtime) Close() error { return r.cli.Close() }

// List returns the allocation IDs of all containers, running or not, that
// carry the label phalanx.managed=true.
func (r *Runtime) List(ctx context.Context, nodeID string) ([]string, error) {
	cs, err := r.cli.ContainerList(ctx, container.ListOptions{
		All: true,
		Filters: filters.NewArgs(filters.Arg("label", LabelManaged+"=true"),
			filters.Arg("label", LabelNodeID+"="+nodeID)),
	})
	if err != nil {
		return nil, fmt.Errorf("docker: list containers: %w", err)
	}
	ids := make([]string, 0, len(cs))
	for _, c := range cs {
		if id := c.Labels[LabelAllocID]; id != "" {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

// Start starts alloc's container, or returns a Handle to the one that
// already exists for alloc.ID (see the package documentation).
func (r *Runtime) Start(ctx context.Context, alloc *api.Allocation, prep executor.Prepared, out io.Writer) (executor.Handle, error) {
	h, err := r.handle(ctx, alloc, prep, out, true)
	if err != nil {
		return nil, err
	}
	return h, nil
}

// Find returns a Handle to alloc's existing container, or nil if there is
// none; it never creates one.
func (r *Runtime) Find(ctx context.Context, alloc *api.Allocation, out io.Writer) (executor.Handle, error) {
	h, err := r.handle(ctx, alloc, executor.Prepared{}, out, false)
	if err != nil || h == nil {
		return nil, err // a nil *handle must not become a non-nil Handle
	}
	return h, nil
}

// handle returns the Handle this Runtime holds for alloc, or adopts the
// existing container, or (with create) creates one; nil if none exists
// and create is false.
func (r *Runtime) handle(ctx context.Context, alloc *api.Allocation, prep executor.Prepared, out io.Writer, create bool) (*handle, error) {
	unlock := r.lock(alloc.ID)
	defer unlock()
	r.mu.Lock()
	h := r.handles[alloc.ID]
	r.mu.Unlock()
	if h != nil {
		return h, nil
	}
	h, err := r.adopt(ctx, alloc.ID, out, create)
	if err == nil && h == nil && create {
		h, err = r.create(ctx, alloc, prep, out)
	}
	if err != nil || h == nil {
		return nil, err
	}
	r.mu.Lock()
	r.handles[alloc.ID] = h
	r.mu.Unlock()
	return h, nil
}

func (r *Runtime) lock(allocID string) func() {
	r.mu.Lock()
	l := r.locks[allocID]
	if l == nil {
		l = &sync.Mutex{}
		r.locks[allocID] = l
	}
	r.mu.Unlock()
	l.Lock()
	return l.Unlock
}

// adopt returns a Handle to alloc's existing container, or nil if there is
// none.
func (r *Runtime) adopt(ctx context.Context, allocID string, out io.Writer, start bool) (*handle, error) {
	name := containerName(allocID)
	info, err := r.cli.ContainerInspect(ctx, name)
	if cerrdefs.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("docker: inspect %s: %w", name, err)
	}
	if info.Config == nil || info.Config.Labels[LabelAllocID] != allocID {
		return nil, fmt.Errorf("docker: a container named %s exists that Phalanx did not create for allocation %s", name, allocID)
	}
	h := r.newHandle(allocID, info.ID)
	switch {
	case info.State != nil && info.State.Running:
		now := time.Now()
		h.copyLogs(out, fmt.Sprintf("%d.%09d", now.Unix(), now.Nanosecond()))
	case info.State != nil && info.State.Status == "created" && !start:
		// Created but never started, and not to be started: remove it.
		if err := r.cli.ContainerRemove(ctx, info.ID, container.RemoveOptions{Force: true}); err != nil {
			return nil, fmt.Errorf("docker: remove %s: %w", name, err)
		}
		return nil, nil
	case info.State != nil && info.State.Status == "created":
		if err := r.cli.ContainerStart(ctx, info.ID, container.StartOptions{}); err != nil {
			return nil, fmt.Errorf("docker: start %s: %w", name, err)
		}
		h.copyLogs(out, "")
	default: // exited: its output was copied by whoever started it
		close(h.logsDone)
	}
	return h, nil
}

func (r *Runtime) create(ctx context.Context, alloc *api.Allocation, prep executor.Prepared, out io.Writer) (*handle, error) {
	if alloc.Task.Image == "" {
		return nil, errors.New("docker: the task has no image")
	}
	if err := r.ensureImage(ctx, alloc.Task.Image); err != nil {
		return nil, err
	}
	cc, hc, name := containerSpec(alloc, prep, r.cfg)
	created, err := r.cli.ContainerCreate(ctx, cc, hc, nil, nil, name)
	if cerrdefs.IsConflict(err) {
		// Created by another agent process since we looked.
		if h, aerr := r.adopt(ctx, alloc.ID, out, true); aerr != nil || h != nil {
			return h, aerr
		}
	}
	if err != nil {
		return nil, fmt.Errorf("docker: create %s: %w", name, err)
	}
	if err := r.cli.ContainerStart(ctx, created.ID, container.StartOptions{}); err != nil {
		r.cli.ContainerRemove(context.WithoutCancel(ctx), created.ID, container.RemoveOptions{Force: true})
		return nil, fmt.Errorf("docker: start %s: %w", name, err)
	}
	h := r.newHandle(alloc.ID, created.ID)
	h.copyLogs(out, "")
	return h, nil
}

// ensureImage pulls ref unless the engine has it.
func (r *Runtime) ensureImage(ctx context.Context, ref string) error {
	_, err := r.cli.ImageInspect(ctx, ref)
	if err == nil {
		return nil
	}
	if !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("docker: inspect image %q: %w", ref, err)
	}
	if err := r.pull(ctx, ref); err != nil {
		return fmt.Errorf("image %q is not on this node and could not be pulled: %w", ref, err)
	}
	return nil
}

func (r *Runtime) pull(ctx context.Context, ref string) error {
	rc, err := r.cli.ImagePull(ctx, ref, image.PullOptions{})
	if err != nil {
		return err
	}
	defer rc.Close()
	dec := json.NewDecoder(rc)
	for {
		var msg struct {
			Error       string `json:"error"`
			ErrorDetail struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		if err := dec.Decode(&msg); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
		if msg.ErrorDetail.Message != "" {
			return errors.New(msg.ErrorDetail.Message)
		}
		if msg.Error != "" {
			return errors.New(msg.Error)
		}
	}
}

func (r *Runtime) newHandle(allocID, containerID string) *handle {
	ctx, cancel := context.WithCancel(context.Background())
	return &handle{
		r:           r,
		allocID:     allocID,
		containerID: containerID,
		logsCtx:     ctx,
		stopLogs:    cancel,
		logsDone:    make(chan struct{}),
	}
}

// handle is one container.
type handle struct {
	r           *Runtime
	allocID     string
	containerID string

	logsCtx  context.Context
	stopLogs context.CancelFunc
	logsDone chan struct{} // closed when the output copier has returned

	mu        sync.Mutex
	stopGrace time.Duration // grace of the first Stop that found it running
	result    *executor.Result
}

// copyLogs copies the container's output since since ("" for all of it)
// to out until the container stops.
func (h *handle) copyLogs(out io.Writer, since string) {
	go func() {
		defer close(h.logsDone)
		rc, err := h.r.cli.ContainerLogs(h.logsCtx, h.containerID, container.LogsOptions{
			ShowStdout: true,
			ShowStderr: true,
			Follow:     true,
			Since:      since,
		})
		if err != nil {
			return
		}
		defer rc.Close()
		stdcopy.StdCopy(out, out, rc)
	}()
}

// Wait waits for the container to stop and its output to be copied.
func (h *handle) Wait(ctx context.Context) (executor.Result, error) {
	h.mu.Lock()
	if h.result != nil {
		defer h.mu.Unlock()
		return *h.result, nil
	}
	h.mu.Unlock()

	waitC, errC := h.r.cli.ContainerWait(ctx, h.containerID, container.WaitConditionNotRunning)
	select {
	case <-waitC:
	case err := <-errC:
		return executor.Result{}, fmt.Errorf("docker: wait for %s: %w", containerName(h.allocID), err)
	}
	select {
	case <-h.logsDone:
	case <-time.After(logDrain):
		h.stopLogs()
		<-h.logsDone
	case <-ctx.Done():
		return executor.Result{}, ctx.Err()
	}
	info, err := h.r.cli.ContainerInspect(ctx, h.containerID)
	if err != nil {
		return executor.Result{}, fmt.Errorf("docker: inspect %s: %w", containerName(h.allocID), err)
	}
	if info.State == nil || info.State.Running {
		return executor.Result{}, fmt.Errorf("docker: %s still runs after the engine reported it stopped", containerName(h.allocID))
	}
	res := executor.Result{ExitCode: info.State.ExitCode}
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case info.State.OOMKilled:
		res.Message = "OOM killed"
	case h.stopGrace > 0 && res.ExitCode == 137:
		res.Message = fmt.Sprintf("killed after %s grace", h.stopGrace)
	}
	h.result = &res
	return res, nil
}

// Stop stops the container: SIGTERM, then SIGKILL after grace.
func (h *handle) Stop(ctx context.Context, grace time.Duration) error {
	info, err := h.r.cli.ContainerInspect(ctx, h.containerID)
	if err != nil {
		return fmt.Errorf("docker: inspect %s: %w", containerName(h.allocID), err)
	}
	if info.State == nil || !info.State.Running {
		return nil
	}
	secs := max(int((grace+time.Second-1)/time.Second), 1)
	h.mu.Lock()
	if h.stopGrace == 0 {
		h.stopGrace = time.Duration(secs) * time.Second
	}
	h.mu.Unlock()
	if err := h.r.cli.ContainerStop(ctx, h.containerID, container.StopOptions{Timeout: &secs}); err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("docker: stop %s: %w", containerName(h.allocID), err)
	}
	return nil
}

// Remove force-removes the container and forgets it.
func (h *handle) Remove(ctx context.Context) error {
	err := h.r.cli.ContainerRemove(ctx, h.containerID, container.RemoveOptions{Force: true})
	if err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("docker: remove %s: %w", containerName(h.allocID), err)
	}
	h.stopLogs()
	h.r.mu.Lock()
	if h.r.handles[h.allocID] == h {
		delete(h.r.handles, h.allocID)
		delete(h.r.locks, h.allocID)
	}
	h.r.mu.Unlock()
	return nil
}
