package handler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/phalanx-sched/phalanx/api"
	"github.com/phalanx-sched/phalanx/api/jobspec"
)

// Backend is what the API serves. scheduler/server.Server implements it.
type Backend interface {
	// SubmitJob registers a job; key is the client's idempotency key ("" for none).
	SubmitJob(ctx context.Context, spec *api.JobSpec, key string) (*api.JobStatus, error)
	CancelJob(ctx context.Context, id string) (*api.JobStatus, error)
	Job(id string) (*api.JobStatus, error)
	Jobs() []*api.JobStatus
	Nodes() []*api.Node
	Node(id string) (*api.NodeDetail, error)
	SetGPUHealth(ctx context.Context, nodeID, gpu string, h api.GPUHealth) error
	SetDrain(ctx context.Context, nodeID string, drain bool, deadline time.Duration) (*api.Node, error)
	Leader() api.LeaderStatus
	RegisterNode(ctx context.Context, n *api.Node) error
	Heartbeat(ctx context.Context, nodeID string) error
	NodeAllocations(ctx context.Context, nodeID string, index uint64) (*api.NodeAllocations, error)
	UpdateAllocations(ctx context.Context, updates []api.AllocUpdate) error
	// HeardFrom records a request of the node's agent (a poll, a
	// report) as its heartbeat and reports whether it counted.
	HeardFrom(nodeID string) bool
	LogTarget(ctx context.Context, jobID, allocID string, wait bool) (*api.Allocation, *api.Node, error)

	// The cluster: see operator.go.
	IsLeader() bool
	LeaderHTTP() string
	Self() api.Server
	Peers() ([]api.Server, error)
	AddServer(ctx context.Context, sv api.Server) error
	RemoveServer(ctx context.Context, id string) error
	TransferLeadership(ctx context.Context, id string) error
	SaveSnapshot(w io.Writer) error
	RestoreSnapshot(r io.Reader) error

	PipelineBackend
	QueueBackend
}

// Config tunes the API.
type Config struct {
	// MaxBodyBytes caps a request body; larger ones get 413.
	MaxBodyBytes int64
	// MaxWait caps a blocking query's wait.
	MaxWait time.Duration
	// LogClient fetches logs from agents.
	LogClient *http.Client
	// Metrics, if set, serves GET /metrics (Prometheus).
	Metrics http.Handler
}

// DefaultConfig returns the defaults: 4 MiB bodies, 5 minute waits.
func DefaultConfig() Config {
	return Config{MaxBodyBytes: 4 << 20, MaxWait: 5 * time.Minute, LogClient: &http.Client{}}
}

// Validate reports the first problem with c.
func (c *Config) Validate() error {
	if c.MaxBodyBytes < 1024 {
		return fmt.Errorf("handler: max body %d bytes is under 1 KiB", c.MaxBodyBytes)
	}
	if c.MaxWait <= 0 {
		return errors.New("handler: max wait must be > 0")
	}
	if c.LogClient == nil {
		return errors.New("handler: no log client")
	}
	return nil
}

// New returns the API's http.Handler.
func New(b Backend, cfg Config) (http.Handler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	h := &handler{b: b, cfg: cfg}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/jobs", h.submitJob)
	mux.HandleFunc("GET /v1/jobs", h.listJobs)
	mux.HandleFunc("GET /v1/jobs/{id}", h.getJob)
	mux.HandleFunc("DELETE /v1/jobs/{id}", h.cancelJob)
	mux.HandleFunc("GET /v1/jobs/{id}/logs", h.jobLogs)
	mux.HandleFunc("GET /v1/nodes", h.listNodes)
	mux.HandleFunc("POST /v1/nodes", h.registerNode)
	mux.HandleFunc("GET /v1/nodes/{id}", h.getNode)
	mux.HandleFunc("PUT /v1/nodes/{id}/gpus/{gpu}/health", h.gpuHealth)
	mux.HandleFunc("PUT /v1/nodes/{id}/drain", h.drain)
	mux.HandleFunc("PUT /v1/nodes/{id}/heartbeat", h.heartbeat)
	mux.HandleFunc("GET /v1/nodes/{id}/allocations", h.nodeAllocations)
	mux.HandleFunc("POST /v1/allocations/updates", h.updateAllocations)
	mux.HandleFunc("GET /v1/status/leader", h.leader)
	h.operatorRoutes(mux)
	h.pipelineRoutes(mux)
	h.queueRoutes(mux)
	if cfg.Metrics != nil {
		mux.Handle("GET /metrics", cfg.Metrics)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, fmt.Errorf("no route %s %s: %w", r.Method, r.URL.Path, api.ErrNotFound))
	})
	return h.forward(mux), nil
}

type handler struct {
	b   Backend
	cfg Config
}

// IdempotencyHeader carries a client's key for a submission: a retry with
// the same key returns the job the first one created.
const IdempotencyHeader = "Idempotency-Key"

// FilenameHeader carries the name of the file a submitted job came from,
// so errors name it ("train.yaml:12: ...").
const FilenameHeader = "X-Phalanx-Filename"

func (h *handler) submitJob(w http.ResponseWriter, r *http.Request) {
	body, err := h.body(w, r)
	if err != nil {
		writeError(w, err)
		return
	}
	if len(body) > jobspec.MaxFileSize {
		writeError(w, &statusError{http.StatusRequestEntityTooLarge,
			fmt.Sprintf("job file of %d bytes is over the %d-byte limit for job files", len(body), jobspec.MaxFileSize)})
		return
	}
	name := filename(r)
	spec, err := jobspec.Parse(name, body)
	if err != nil {
		writeError(w, fmt.Errorf("%w: %w", api.ErrInvalid, err))
		return
	}
	st, err := h.b.SubmitJob(r.Context(), spec, r.Header.Get(IdempotencyHeader))
	if fe := (*api.FieldError)(nil); errors.As(err, &fe) {
		err = fmt.Errorf("%w: %w", api.ErrInvalid, jobspec.Error{File: name, Line: lineOf(body, fe.Field), Field: fe.Field, Msg: fe.Msg})
	}
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, st)
}

func (h *handler) listJobs(w http.ResponseWriter, r *http.Request) {
	jobs := h.b.Jobs()
	if jobs == nil {
		jobs = []*api.JobStatus{}
	}
	writeJSON(w, http.StatusOK, jobs)
}

func (h *handler) getJob(w http.ResponseWriter, r *http.Request) {
	st, err := h.b.Job(r.PathValue("id"))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (h *handler) cancelJob(w http.ResponseWriter, r *http.Request) {
	st, err := h.b.CancelJob(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (h *handler) listNodes(w http.ResponseWriter, r *http.Request) {
	nodes := h.b.Nodes()
	if nodes == nil {
		nodes = []*api.Node{}
	}
	writeJSON(w, http.StatusOK, nodes)
}

func (h *handler) getNode(w http.ResponseWriter, r *http.Request) {
	st, err := h.b.Node(r.PathValue("id"))
	if err != nil {
		writeError(w, err)
		return
	}
	// Secrets and checkout tokens go to executors only.
	red := *st
	red.Allocations = make([]*api.Allocation, len(st.Allocations))
	for i, a := range st.Allocations {
		red.Allocations[i] = a.WithEnv().Redacted()
	}
	writeJSON(w, http.StatusOK, &red)
}

// gpuHealth marks a GPU unhealthy (agents) or recovered (operators);
// {gpu} is a UUID or an index.
func (h *handler) gpuHealth(w http.ResponseWriter, r *http.Request) {
	var gh api.GPUHealth
	if err := h.decode(w, r, &gh); err != nil {
		writeError(w, err)
		return
	}
	if err := h.b.SetGPUHealth(r.Context(), r.PathValue("id"), r.PathValue("gpu"), gh); err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// DrainRequest is the body of PUT /v1/nodes/{id}/drain.
type DrainRequest struct {
	Drain bool `json:"drain"`
	// Deadline, with Drain, is how long running work may stay ("1h");
	// empty: it may run to completion.
	Deadline string `json:"deadline,omitempty"`
}

func (h *handler) drain(w http.ResponseWriter, r *http.Request) {
	var req DrainRequest
	if err := h.decode(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	var deadline time.Duration
	if req.Deadline != "" {
		d, err := time.ParseDuration(req.Deadline)
		if err != nil || d <= 0 {
			writeError(w, fmt.Errorf("deadline %q: want a positive duration such as \"30m\": %w", req.Deadline, api.ErrInvalid))
			return
		}
		deadline = d
	}
	n, err := h.b.SetDrain(r.Context(), r.PathValue("id"), req.Drain, deadline)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, n)
}

func (h *handler) registerNode(w http.ResponseWriter, r *http.Request) {
	var n api.Node
	if err := h.decode(w, r, &n); err != nil {
		writeError(w, err)
		return
	}
	if err := h.b.RegisterNode(r.Context(), &n); err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"id": n.ID})
}

func (h *handler) heartbeat(w http.ResponseWriter, r *http.Request) {
	if err := h.b.Heartbeat(r.Context(), r.PathValue("id")); err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// nodeAllocations is the executors' blocking query: ?index=N waits until
// the node's allocations change past N, at most ?wait= (default 30s). It
// answers in JSON, or in binary (api.AllocationsMediaType) to a client
// that accepts it.
func (h *handler) nodeAllocations(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	index, err := parseUint(q.Get("index"))
	if err != nil {
		writeError(w, fmt.Errorf("index: %v: %w", err, api.ErrInvalid))
		return
	}
	wait := 30 * time.Second
	if s := q.Get("wait"); s != "" {
		if wait, err = time.ParseDuration(s); err != nil {
			writeError(w, fmt.Errorf("wait: %v: %w", err, api.ErrInvalid))
			return
		}
	}
	ctx, cancel := context.WithTimeout(r.Context(), min(wait, h.cfg.MaxWait))
	defer cancel()
	h.heard(w, r, r.PathValue("id"))
	res, err := h.b.NodeAllocations(ctx, r.PathValue("id"), index)
	if err != nil {
		writeError(w, err)
		return
	}
	if strings.Contains(r.Header.Get("Accept"), api.AllocationsMediaType) {
		w.Header().Set("Content-Type", api.AllocationsMediaType)
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(api.AppendNodeAllocations(nil, res))
		return
	}
	// In JSON, each task's env is whole (Allocation.WithEnv), as agents
	// that predate the rank fields expect.
	out := &api.NodeAllocations{Index: res.Index, Allocations: make([]*api.Allocation, len(res.Allocations))}
	for i, a := range res.Allocations {
		out.Allocations[i] = a.WithEnv()
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *handler) updateAllocations(w http.ResponseWriter, r *http.Request) {
	var updates []api.AllocUpdate
	if err := h.decode(w, r, &updates); err != nil {
		writeError(w, err)
		return
	}
	if id := r.Header.Get(api.AgentHeader); id != "" && slices.ContainsFunc(updates, func(u api.AllocUpdate) bool { return u.NodeID == id }) {
		h.heard(w, r, id)
	}
	if err := h.b.UpdateAllocations(r.Context(), updates); err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// heard counts a request of nodeID's agent (AgentHeader) as its heartbeat
// and says so on the answer (HeardHeader), before anything is written.
func (h *handler) heard(w http.ResponseWriter, r *http.Request, nodeID string) {
	if r.Header.Get(api.AgentHeader) == nodeID && h.b.HeardFrom(nodeID) {
		w.Header().Set(api.HeardHeader, "1")
	}
}

func (h *handler) leader(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, h.b.Leader())
}

// body reads a capped request body.
func (h *handler) body(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.cfg.MaxBodyBytes))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, &statusError{http.StatusRequestEntityTooLarge,
			fmt.Sprintf("request body over the %d-byte limit", h.cfg.MaxBodyBytes)}
	}
	if err != nil {
		return nil, fmt.Errorf("read body: %v: %w", err, api.ErrInvalid)
	}
	return b, nil
}

func (h *handler) decode(w http.ResponseWriter, r *http.Request, v any) error {
	b, err := h.body(w, r)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("bad JSON body: %v: %w", err, api.ErrInvalid)
	}
	return nil
}

func parseUint(s string) (uint64, error) {
	if s == "" {
		return 0, nil
	}
	return strconv.ParseUint(s, 10, 64)
}

// statusError is an error with its own HTTP status.
type statusError struct {
	code int
	msg  string
}

func (e *statusError) Error() string { return e.msg }

// ErrorBody is the JSON body of every error response.
type ErrorBody struct {
	Error string `json:"error"`
}

func writeError(w http.ResponseWriter, err error) {
	code := http.StatusInternalServerError
	var se *statusError
	switch {
	case errors.As(err, &se):
		code = se.code
	case errors.Is(err, api.ErrInvalid):
		code = http.StatusBadRequest
	case errors.Is(err, api.ErrNotFound):
		code = http.StatusNotFound
	case errors.Is(err, api.ErrConflict):
		code = http.StatusConflict
	case errors.Is(err, api.ErrNotLeader):
		code = http.StatusServiceUnavailable
	case errors.Is(err, api.ErrUnknownOutcome):
		code = http.StatusGatewayTimeout
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		code = http.StatusServiceUnavailable
	}
	msg := err.Error()
	var perr jobspec.Errors
	if errors.As(err, &perr) {
		msg = perr.Error() // the file:line: field: message lines, nothing else
	}
	if code == http.StatusInternalServerError {
		log.Printf("api: %v", err)
	}
	writeJSON(w, code, ErrorBody{Error: msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	// Compact: agents and clients parse it; the CLI formats for people.
	_ = json.NewEncoder(w).Encode(v)
}

// filename is what errors call an uploaded file: the client's
// X-Phalanx-Filename, or "request".
func filename(r *http.Request) string {
	if name := r.Header.Get(FilenameHeader); name != "" {
		return name
	}
	return "request"
}
