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
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/phalanx-sched/phalanx/api"
)

// DefaultAddr is where servers listen unless told otherwise.
const DefaultAddr = "127.0.0.1:7400"

// AddrFromEnv returns $PHALANX_ADDR (one address, or several separated by
// commas), or DefaultAddr.
func AddrFromEnv() string {
	if a := os.Getenv("PHALANX_ADDR"); a != "" {
		return a
	}
	return DefaultAddr
}

// Client talks to a cluster through any of its servers. A request that
// cannot reach a server, or that a server answers 503 (no leader yet),
// is tried on the next one, a few rounds with backoff; every server
// forwards to the leader, so any will do.
type Client struct {
	mu    sync.Mutex
	bases []string
	next  int // the server that answered last
	// unreachable is when each server last could not be reached, by
	// index: the client does not follow a leader hint to a server it
	// could not reach a moment ago (one side of a partition).
	unreachable map[int]time.Time
	http        *http.Client
	// Rounds is how many times each server is tried before giving up.
	Rounds int
	// Agent, set by an executor's agent, is its node's ID: requests carry
	// it (api.AgentHeader), and Heard is called with the time a request
	// went out whose answer says the leader took it as the node's
	// heartbeat (api.HeardHeader).
	Agent string
	Heard func(sent time.Time)
}

// transport is shared by every Client of a process. It keeps every idle
// connection instead of net/http's default of 2 per server, so that an
// agent running thousands of simulated nodes (a blocking query each, and
// heartbeats and reports beside them), or a busy client, reuses
// connections instead of opening and closing them by the thousand.
var transport = func() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 0 // no limit across servers
	t.MaxIdleConnsPerHost = 1 << 16
	return t
}()

// New returns a client for addr: "host:port", "http://host:port", or
// several of either separated by commas.
func New(addr string) *Client {
	c := &Client{http: &http.Client{Transport: transport}, Rounds: 3}
	for _, a := range strings.Split(addr, ",") {
		a = strings.TrimSpace(a)
		if a == "" {
			continue
		}
		if !strings.Contains(a, "://") {
			a = "http://" + a
		}
		c.bases = append(c.bases, strings.TrimRight(a, "/"))
	}
	if len(c.bases) == 0 {
		c.bases = []string{"http://" + DefaultAddr}
	}
	return c
}

// Addr is the base URL of the server the client used last.
func (c *Client) Addr() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bases[c.next]
}

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
	case http.StatusGatewayTimeout:
		return api.ErrUnknownOutcome
	}
	return nil
}

// SubmitJob sends a job file's bytes; filename is named in errors. A
// non-empty key makes the submission idempotent: sending it again (after a
// timeout, say) returns the job the first one created.
func (c *Client) SubmitJob(ctx context.Context, filename string, body []byte, key string) (*api.JobStatus, error) {
	var st api.JobStatus
	hdr := http.Header{"X-Phalanx-Filename": {filename}, "Content-Type": {"application/yaml"}}
	if key != "" {
		hdr.Set("Idempotency-Key", key)
	}
	return &st, c.do(ctx, http.MethodPost, "/v1/jobs", hdr, body, &st)
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

// Drain starts draining a node (deadline "" lets work run to completion)
// or, with drain false, makes it eligible again.
func (c *Client) Drain(ctx context.Context, nodeID string, drain bool, deadline string) (*api.Node, error) {
	var out api.Node
	body := map[string]any{"drain": drain, "deadline": deadline}
	return &out, c.doJSON(ctx, http.MethodPut, "/v1/nodes/"+url.PathEscape(nodeID)+"/drain", body, &out)
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

// NodeAllocations long-polls for a node's allocations past index. It asks
// for the binary form (api.AllocationsMediaType) and reads JSON from a
// server that answers with it.
func (c *Client) NodeAllocations(ctx context.Context, nodeID string, index uint64, wait time.Duration) (*api.NodeAllocations, error) {
	path := fmt.Sprintf("/v1/nodes/%s/allocations?index=%s&wait=%s",
		url.PathEscape(nodeID), strconv.FormatUint(index, 10), wait)
	hdr := http.Header{"Accept": {api.AllocationsMediaType + ", application/json"}}
	resp, err := c.send(ctx, http.MethodGet, path, hdr, nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", path, err)
	}
	if resp.Header.Get("Content-Type") == api.AllocationsMediaType {
		out, err := api.ReadNodeAllocations(b)
		if err != nil {
			return nil, fmt.Errorf("GET %s: bad response: %w", path, err)
		}
		return out, nil
	}
	var out api.NodeAllocations
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("GET %s: bad response: %w", path, err)
	}
	return &out, nil
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
	return c.do(ctx, method, path, http.Header{"Content-Type": {"application/json"}}, b, out)
}

func (c *Client) do(ctx context.Context, method, path string, hdr http.Header, body []byte, out any) error {
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
	// Read to the end (the newline after the JSON value): net/http reuses
	// a connection only once its response body was read to EOF, and
	// otherwise closes it, so each request would dial anew.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	return nil
}

// send makes a request, moving on to the next server while servers are
// unreachable or have no leader, and turns error statuses into *Error.
// A write that may already have been applied (the connection broke after
// it was sent, or the server says the outcome is unknown) is sent again
// only if it is safe to: a read, or a write with an idempotency key.
func (c *Client) send(ctx context.Context, method, path string, hdr http.Header, body []byte) (*http.Response, error) {
	safe := method == http.MethodGet || hdr.Get("Idempotency-Key") != ""
	c.mu.Lock()
	start := c.next
	c.mu.Unlock()
	var last error
	delay := 100 * time.Millisecond
	for try := 0; try < c.Rounds*len(c.bases); try++ {
		i := (start + try) % len(c.bases)
		if try > 0 && i == start {
			select { // a full round failed: back off before the next
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(delay):
			}
			delay *= 4
		}
		sent := time.Now()
		resp, err := c.sendTo(ctx, c.bases[i], method, path, hdr, body)
		if err == nil && c.Heard != nil && resp.Header.Get(api.HeardHeader) != "" {
			c.Heard(sent)
		}
		if err == nil || ctx.Err() != nil || !retryable(err, safe) {
			var ce *Error
			if err == nil || errors.As(err, &ce) {
				c.mu.Lock()
				c.next = i
				delete(c.unreachable, i)
				if err == nil {
					c.preferLeader(resp.Header.Get(api.LeaderHeader))
				}
				c.mu.Unlock()
			}
			return resp, err
		}
		var ce *Error
		if !errors.As(err, &ce) {
			c.mu.Lock()
			if c.unreachable == nil {
				c.unreachable = map[int]time.Time{}
			}
			c.unreachable[i] = time.Now()
			c.mu.Unlock()
		}
		last = err
	}
	return nil, last
}

// unreachableFor is how long a server the client could not reach is not
// preferred as the leader: the client stays with one that answers.
const unreachableFor = 30 * time.Second

// preferLeader makes the leader, as a server named it in its response,
// the server the next request goes to, if it is one of the client's
// addresses and was not unreachable a moment ago: any server forwards to
// the leader, but going there directly saves a hop. c.mu is held.
func (c *Client) preferLeader(leader string) {
	if leader == "" {
		return
	}
	for i, b := range c.bases {
		if strings.TrimPrefix(b, "http://") == leader {
			if t, ok := c.unreachable[i]; ok && time.Since(t) < unreachableFor {
				return
			}
			c.next = i
			return
		}
	}
}

// retryable says whether a failed request may be sent again, to the next
// server: always when it never reached a server or the server applied
// nothing (503), otherwise only if it is safe to repeat.
func retryable(err error, safe bool) bool {
	var ce *Error
	if errors.As(err, &ce) {
		switch ce.Status {
		case http.StatusServiceUnavailable:
			return true
		case http.StatusBadGateway, http.StatusGatewayTimeout:
			return safe
		}
		return false
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	return safe
}

func (c *Client) sendTo(ctx context.Context, base, method, path string, hdr http.Header, body []byte) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, rd)
	if err != nil {
		return nil, err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	if c.Agent != "" {
		req.Header.Set(api.AgentHeader, c.Agent)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) && ctx.Err() == nil {
			return nil, fmt.Errorf("cannot reach the Phalanx server at %s (is it running? set PHALANX_ADDR to point elsewhere): %w", base, uerr.Err)
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

// Self asks a server for its own ID and addresses (never forwarded).
func (c *Client) Self(ctx context.Context) (*api.Server, error) {
	var out api.Server
	return &out, c.do(ctx, http.MethodGet, "/v1/operator/raft/self", nil, nil, &out)
}

// Peers lists the cluster's Raft configuration.
func (c *Client) Peers(ctx context.Context) ([]api.Server, error) {
	var out []api.Server
	return out, c.do(ctx, http.MethodGet, "/v1/operator/raft/peers", nil, nil, &out)
}

// AddPeer asks the cluster to add a server as a voter.
func (c *Client) AddPeer(ctx context.Context, sv api.Server) error {
	return c.doJSON(ctx, http.MethodPost, "/v1/operator/raft/peers", sv, nil)
}

// RemovePeer removes a server from the cluster.
func (c *Client) RemovePeer(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/v1/operator/raft/peers/"+url.PathEscape(id), nil, nil, nil)
}

// TransferLeader hands leadership to the server id, or to any up-to-date
// follower when id is "".
func (c *Client) TransferLeader(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodPost, "/v1/operator/raft/transfer-leadership?to="+url.QueryEscape(id), nil, nil, nil)
}

// SaveSnapshot writes a snapshot of the cluster's state to w.
func (c *Client) SaveSnapshot(ctx context.Context, w io.Writer) error {
	resp, err := c.send(ctx, http.MethodGet, "/v1/operator/snapshot", nil, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(w, resp.Body)
	return err
}

// RestoreSnapshot replaces the cluster's state with a saved snapshot.
func (c *Client) RestoreSnapshot(ctx context.Context, snapshot []byte) error {
	return c.do(ctx, http.MethodPut, "/v1/operator/snapshot", http.Header{"Content-Type": {"application/octet-stream"}}, snapshot, nil)
}

// Queues lists every queue with what it holds.
func (c *Client) Queues(ctx context.Context) ([]*api.QueueStatus, error) {
	var out []*api.QueueStatus
	return out, c.do(ctx, http.MethodGet, "/v1/queues", nil, nil, &out)
}

// ApplyQueues sends a queue file's bytes: its queues are created or
// replaced, others stay. filename is named in errors. Applying the same
// file twice changes nothing, so it is safe to retry.
func (c *Client) ApplyQueues(ctx context.Context, filename string, body []byte) ([]*api.QueueStatus, error) {
	var out []*api.QueueStatus
	hdr := http.Header{"X-Phalanx-Filename": {filename}, "Content-Type": {"application/yaml"}}
	return out, c.do(ctx, http.MethodPut, "/v1/queues", hdr, body, &out)
}

// DeleteQueue removes a queue that no active job uses.
func (c *Client) DeleteQueue(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, "/v1/queues/"+url.PathEscape(name), nil, nil, nil)
}
