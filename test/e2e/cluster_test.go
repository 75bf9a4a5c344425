package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/phalanx-sched/phalanx/api"
	"github.com/phalanx-sched/phalanx/api/client"
	"github.com/phalanx-sched/phalanx/api/handler"
	"github.com/phalanx-sched/phalanx/executor"
	"github.com/phalanx-sched/phalanx/executor/docker"
	"github.com/phalanx-sched/phalanx/executor/host"
	"github.com/phalanx-sched/phalanx/gpu"
	"github.com/phalanx-sched/phalanx/internal/testutil"
	"github.com/phalanx-sched/phalanx/scheduler/server"
)

// cluster is a one-server dev cluster with one executor, as `phalanx dev`
// runs it, on loopback ports and a temp data dir.
type cluster struct {
	t       testing.TB
	dir     string
	raft    string
	srv     *server.Server
	httpSrv *http.Server
	addr    string
	client  *client.Client
	agents  []*executor.Agent
	stopAg  []func()
	docker  bool
}

type options struct {
	runtime string // "docker" (default) or "exec"
	agents  int    // executors, each a node (default 1)
	// gpus, if set, gives executor i its GPU discovery.
	gpus   func(i int) gpu.Discoverer
	cpu    int64  // millicores offered; default 2000
	memory int64  // bytes offered; default 1 GiB
	dir    string // reuse a data dir (restart tests)
	raft   string
}

func startCluster(t testing.TB, o options) *cluster {
	t.Helper()
	if o.dir == "" {
		o.dir = t.TempDir()
	}
	if o.raft == "" {
		o.raft = freeAddr(t)
	}
	c := &cluster{t: t, dir: o.dir, raft: o.raft}
	c.startServer()
	c.startAgents(o)
	c.docker = o.runtime == "" || o.runtime == "docker"
	t.Cleanup(c.stop)
	return c
}

func (c *cluster) startServer() {
	t := c.t
	cfg := server.DefaultConfig()
	cfg.DataDir, cfg.RaftAddr, cfg.LogOutput = filepath.Join(c.dir, "server"), c.raft, io.Discard
	srv, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h, err := handler.New(srv, handler.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c.srv, c.httpSrv, c.addr = srv, &http.Server{Handler: h}, ln.Addr().String()
	go c.httpSrv.Serve(ln)
	c.client = client.New(c.addr)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := srv.WaitLeader(ctx); err != nil {
		t.Fatal(err)
	}
}

func (c *cluster) stopServer() {
	if c.httpSrv != nil {
		c.httpSrv.Close()
		c.srv.Shutdown()
		c.httpSrv = nil
	}
}

// startAgents starts o.agents executors (default 1), each a node of its
// own, and waits until the servers know them all at their addresses.
func (c *cluster) startAgents(o options) {
	n := max(o.agents, 1)
	want := map[string]string{}
	for i := 0; i < n; i++ {
		name, dataDir := "dev-node", filepath.Join(c.dir, "agent")
		if n > 1 {
			name, dataDir = fmt.Sprintf("node-%d", i), filepath.Join(c.dir, fmt.Sprintf("agent-%d", i))
		}
		var src gpu.Discoverer
		if o.gpus != nil {
			src = o.gpus(i)
		}
		want[name] = c.startAgent(o, name, dataDir, src)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		nodes, err := c.client.Nodes(context.Background())
		ready := 0
		for _, nd := range nodes {
			if want[nd.Name] == nd.Address && nd.Status == api.NodeReady {
				ready++
			}
		}
		if err == nil && ready == n {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("agents did not register: %v %+v", err, nodes)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// startAgent starts one executor and returns its address.
func (c *cluster) startAgent(o options, name, dataDir string, src gpu.Discoverer) string {
	t := c.t
	var rt executor.Runtime
	switch o.runtime {
	case "", "docker":
		testutil.Docker(t) // skips, or fails under PHALANX_REQUIRE_DOCKER=1, without an engine; builds the image
		d, err := docker.New(docker.DefaultConfig())
		if err != nil {
			t.Fatal(err)
		}
		rt = d
	case "exec":
		h, err := host.New(host.Config{WorkDir: filepath.Join(dataDir, "work")})
		if err != nil {
			t.Fatal(err)
		}
		rt = h
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := executor.DefaultConfig()
	cfg.Server, cfg.NodeName, cfg.DataDir, cfg.Address = c.addr, name, dataDir, ln.Addr().String()
	cfg.CPUMilli, cfg.MemoryBytes = max(o.cpu, 0), max(o.memory, 0)
	if cfg.CPUMilli == 0 {
		cfg.CPUMilli = 2000
	}
	if cfg.MemoryBytes == 0 {
		cfg.MemoryBytes = 1 << 30
	}
	cfg.HeartbeatInterval = 500 * time.Millisecond
	if src != nil {
		inv, err := src.Discover()
		if err != nil {
			t.Fatal(err)
		}
		cfg.GPUs, cfg.GPUSource = inv.API(), src
	}
	// Executors on one host share its ports: each gets its own slice.
	// Away from the default range, which other test packages' clusters
	// use, and below the kernel's ephemeral ports (32768 up), which any
	// process's outgoing connections and free-port listeners may hold.
	cfg.Ports = api.PortRange{Min: 31000 + 50*len(c.agents), Max: 31049 + 50*len(c.agents)}
	ag, err := executor.New(cfg, rt)
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: ag.Handler()}
	go hs.Serve(ln)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); ag.Run(ctx) }()
	c.agents = append(c.agents, ag)
	c.stopAg = append(c.stopAg, func() { cancel(); <-done; hs.Close() })
	return cfg.Address
}

// removeContainers force-removes every container of this cluster's
// allocations.
func (c *cluster) removeContainers() {
	if c.httpSrv == nil {
		return
	}
	cli := testutil.Docker(c.t)
	snap := c.srv.State().Snapshot()
	for _, j := range snap.Jobs() {
		for _, a := range snap.JobAllocs(j.ID) {
			_ = cli.ContainerRemove(context.Background(), "phalanx-"+a.ID, container.RemoveOptions{Force: true})
		}
	}
}

// stop stops the agent, removes its containers (so a failed test leaves
// nothing running), then stops the server.
func (c *cluster) stop() {
	for _, stop := range c.stopAg {
		stop()
	}
	c.stopAg, c.agents = nil, nil
	if c.docker {
		c.removeContainers()
	}
	c.stopServer()
}

// submit sends a job file's bytes and returns the new job's ID.
func (c *cluster) submit(name string, body []byte) string {
	c.t.Helper()
	st, err := c.client.SubmitJob(context.Background(), name, body, "")
	if err != nil {
		c.t.Fatalf("submit %s: %v", name, err)
	}
	return st.ID
}

// example reads a file from examples/jobs.
func example(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "examples", "jobs", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// wait polls a job until cond holds or the timeout passes.
func (c *cluster) wait(id string, timeout time.Duration, cond func(*api.JobStatus) bool) *api.JobStatus {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	var st *api.JobStatus
	for time.Now().Before(deadline) {
		var err error
		st, err = c.client.Job(context.Background(), id)
		if err != nil {
			c.t.Fatal(err)
		}
		if cond(st) {
			return st
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.t.Fatalf("job %s: condition not met within %v; last status %+v", id, timeout, st)
	return nil
}

func (c *cluster) waitDone(id string) *api.JobStatus {
	c.t.Helper()
	return c.wait(id, 60*time.Second, func(s *api.JobStatus) bool { return s.State.Terminal() })
}

func (c *cluster) logs(id, alloc string) string {
	c.t.Helper()
	var b strings.Builder
	if err := c.client.Logs(context.Background(), id, alloc, false, &b); err != nil {
		c.t.Fatalf("logs of %s: %v", id, err)
	}
	return b.String()
}

func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func isStatus(err error, code int) bool {
	var ce *client.Error
	return errors.As(err, &ce) && ce.Status == code
}
