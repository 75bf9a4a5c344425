// Package client is the Go client of the Phalanx HTTP API, used by the CLI
// and the executor agent. Error responses come back as errors wrapping the
// api sentinels (api.ErrNotFound, api.ErrInvalid, ...), so callers branch
// with errors.Is.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/phalanx-sched/phalanx/api"
)

// DefaultAddr is where servers listen unless told otherwise.
const DefaultAddr = "127.0.0.1:7400"

// AddrFromEnv returns $PHALANX_ADDR, or DefaultAddr.
func AddrFromEnv() string {
	if a := os.Getenv("PHALANX_ADDR"); a != "" {
		return a
	}
	return DefaultAddr
}

// Client talks to one server.
type Client struct {
	base string
	http *http.Client
}

// New returns a client for addr ("host:port" or "http://host:port").
func New(addr string) *Client {
	if !strings.Contains(addr, "://") {
		addr = "http://" + addr
	}
	return &Client{base: strings.TrimRight(addr, "/"), http: &http.Client{}}
}

// Addr is the server's base URL.
func (c *Client) Addr() string { return c.base }

// Error is an error response from the server.
type Error struct {
	Status  int
	Message string
}

func (e *Error) Error() string { return e.Message }

// Unwrap maps the status to the api sentinel it stands for.
func (e *Error) Unwrap() error {
	switch e.Status {
	case http.StatusBadRequest:
		return api.ErrInvalid
	case http.StatusNotFound:
		return api.ErrNotFound
	case http.StatusConflict:
		return api.ErrConflict
	case http.StatusServiceUnavailable:
		return api.ErrNotLeader
	}
	return nil
}

// SubmitJob sends a job file's bytes; filename is named in errors.
func (c *Client) SubmitJob(ctx context.Context, filename string, body []byte) (*api.JobStatus, error) {
	var st api.JobStatus
	hdr := http.Header{"X-Phalanx-Filename": {filename}, "Content-Type": {"application/yaml"}}
	return &st, c.do(ctx, http.MethodPost, "/v1/jobs", hdr, bytes.NewReader(body), &st)
}

// Job returns one job's status.
func (c *Client) Job(ctx context.Context, id string) (*api.JobStatus, error) {
	var st api.JobStatus
	return &st, c.do(ctx, http.MethodGet, "/v1/jobs/"+url.PathEscape(id), nil, nil, &st)
}

// Jobs lists every job.
func (c *Client) Jobs(ctx context.Context) ([]*api.JobStatus, error) {
	var out []*api.JobStatus
	return out, c.do(ctx, http.MethodGet, "/v1/jobs", nil, nil, &out)
}

// CancelJob cancels a job.
func (c *Client) CancelJob(ctx context.Context, id string) (*api.JobStatus, error) {
	var st api.JobStatus
	return &st, c.do(ctx, http.MethodDelete, "/v1/jobs/"+url.PathEscape(id), nil, nil, &st)
}

// Logs streams a job's logs into w. alloc picks an allocation ("" for the
// first member); follow streams until the task ends or ctx is done.
func (c *Client) Logs(ctx context.Context, jobID, alloc string, follow bool, w io.Writer) error {
	q := url.Values{}
	if alloc != "" {
		q.Set("alloc", alloc)
	}
	if follow {
		q.Set("follow", "1")
	}
	path := "/v1/jobs/" + url.PathEscape(jobID) + "/logs"
	if len(q) > 0 {
		path += "?" + q.Encode()
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

// Nodes lists every node.
func (c *Client) Nodes(ctx context.Context) ([]*api.Node, error) {
	var out []*api.Node
	return out, c.do(ctx, http.MethodGet, "/v1/nodes", nil, nil, &out)
}

// Node returns one node's status, by ID, name or ID prefix.
func (c *Client) Node(ctx context.Context, id string) (*api.NodeDetail, error) {
	var out api.NodeDetail
	return &out, c.do(ctx, http.MethodGet, "/v1/nodes/"+url.PathEscape(id), nil, nil, &out)
}

// SetGPUHealth marks a node's GPU (UUID or index) unhealthy or recovered.
func (c *Client) SetGPUHealth(ctx context.Context, nodeID, gpu string, h api.GPUHealth) error {
	return c.doJSON(ctx, http.MethodPut, "/v1/nodes/"+url.PathEscape(nodeID)+"/gpus/"+url.PathEscape(gpu)+"/health", h, nil)
}

// Leader asks who leads the cluster.
func (c *Client) Leader(ctx context.Context) (*api.LeaderStatus, error) {
	var out api.LeaderStatus
	return &out, c.do(ctx, http.MethodGet, "/v1/status/leader", nil, nil, &out)
}

// RegisterNode registers an executor node.
func (c *Client) RegisterNode(ctx context.Context, n *api.Node) error {
	return c.doJSON(ctx, http.MethodPost, "/v1/nodes", n, nil)
}

// Heartbeat tells the servers a node is alive.
func (c *Client) Heartbeat(ctx context.Context, nodeID string) error {
	return c.do(ctx, http.MethodPut, "/v1/nodes/"+url.PathEscape(nodeID)+"/heartbeat", nil, nil, nil)
}

// NodeAllocations long-polls for a node's allocations past index.
func (c *Client) NodeAllocations(ctx context.Context, nodeID string, index uint64, wait time.Duration) (*api.NodeAllocations, error) {
	var out api.NodeAllocations
	path := fmt.Sprintf("/v1/nodes/%s/allocations?index=%s&wait=%s",
		url.PathEscape(nodeID), strconv.FormatUint(index, 10), wait)
	return &out, c.do(ctx, http.MethodGet, path, nil, nil, &out)
}

// UpdateAllocations reports allocation states.
func (c *Client) UpdateAllocations(ctx context.Context, updates []api.AllocUpdate) error {
	return c.doJSON(ctx, http.MethodPost, "/v1/allocations/updates", updates, nil)
}

func (c *Client) doJSON(ctx context.Context, method, path string, in, out any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	return c.do(ctx, method, path, http.Header{"Content-Type": {"application/json"}}, bytes.NewReader(b), out)
}

func (c *Client) do(ctx context.Context, method, path string, hdr http.Header, body io.Reader, out any) error {
	resp, err := c.send(ctx, method, path, hdr, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: bad response: %w", method, path, err)
	}
	return nil
}

// send makes a request and turns error statuses into *Error.
func (c *Client) send(ctx context.Context, method, path string, hdr http.Header, body io.Reader) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return nil, err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := c.http.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) && ctx.Err() == nil {
			return nil, fmt.Errorf("cannot reach the Phalanx server at %s (is it running? set PHALANX_ADDR to point elsewhere): %w", c.base, uerr.Err)
		}
		return nil, err
	}
	if resp.StatusCode >= 300 {
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		var eb struct {
			Error string `json:"error"`
		}
		msg := strings.TrimSpace(string(b))
		if json.Unmarshal(b, &eb) == nil && eb.Error != "" {
			msg = eb.Error
		}
		return nil, &Error{Status: resp.StatusCode, Message: msg}
	}
	return resp, nil
}
