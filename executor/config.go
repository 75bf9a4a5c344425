package executor

import (
	"errors"
	"fmt"
	"time"

	"github.com/phalanx-sched/phalanx/api"
)

// Config is an agent's configuration.
type Config struct {
	// Server is a control-plane server's HTTP address.
	Server string
	// NodeName names the node; default the host name.
	NodeName string
	// DataDir keeps the node ID, the allocations' logs and work dirs,
	// and pipeline runs' workspaces (<DataDir>/workspaces).
	DataDir string
	// Address is the host:port servers reach this agent's HTTP API on, to
	// fetch logs.
	Address string
	// Labels are the node's labels, for node selectors.
	Labels map[string]string
	// CPUMilli and MemoryBytes are what the node offers; 0 means all of
	// the host's.
	CPUMilli    int64
	MemoryBytes int64
	// GPUs are the node's GPUs, from gpu discovery.
	GPUs []api.GPU
	// GPUSource, if set, is the discovery the GPUs came from; the agent
	// watches it for failing GPUs (gpu.Watcher), samples it for metrics
	// (gpu.Sampler) when it can, and closes it (io.Closer) when Run ends.
	GPUSource any
	// Ports is the range of host ports the scheduler may reserve on this
	// node (a gang's MASTER_PORT).
	Ports api.PortRange
	// DiscardLogs drops tasks' output instead of keeping it in files: for
	// simulated nodes, whose tasks write nothing and whose agent serves no
	// logs, and of which one process may run tens of thousands of tasks
	// (each kept log holds a file open).
	DiscardLogs bool
	// HeartbeatInterval is the longest the servers go without hearing
	// from the agent; keep it well under their heartbeat TTL. Reports
	// and allocation polls count as heartbeats: the agent sends a
	// heartbeat only when no other request went out for that long.
	HeartbeatInterval time.Duration
	// ReportBatch is how long the agent lets allocation reports gather
	// before it sends them, so that tasks starting or ending together
	// (a node's share of a gang) go in one request. 0 sends each at once.
	ReportBatch time.Duration
	// LogMaxBytes caps each allocation's kept log.
	LogMaxBytes int64
	// WorkspaceGrace is how long a pipeline run's workspace directory is
	// kept once no allocation on this node holds or wants it, so that
	// retries and later steps find their checkout.
	WorkspaceGrace time.Duration
	// Checkout puts a workspace's commit into its directory.
	Checkout CheckoutFunc
	// CheckoutTimeout bounds one checkout of a workspace's commit; a git
	// server that stops answering fails the step after it instead of
	// holding it in "starting".
	CheckoutTimeout time.Duration
	// Quiet drops the agent's routine log lines (simulated nodes by the
	// thousand).
	Quiet bool
	// Now is the clock.
	Now func() time.Time
}

// DefaultWorkspaceGrace is how long an unused workspace is kept by
// default.
const DefaultWorkspaceGrace = 10 * time.Minute

// DefaultCheckoutTimeout is how long a workspace's checkout may take by
// default.
const DefaultCheckoutTimeout = 10 * time.Minute

// DefaultReportBatch is ReportBatch's default: long enough to gather a
// burst of reports, short beside a container's start.
const DefaultReportBatch = 20 * time.Millisecond

// DefaultConfig returns an agent configuration with defaults filled in,
// except for what depends on the host (name, resources).
func DefaultConfig() Config {
	return Config{
		Server:            "127.0.0.1:7400",
		DataDir:           "phalanx-data/agent",
		HeartbeatInterval: 3 * time.Second,
		ReportBatch:       DefaultReportBatch,
		LogMaxBytes:       10 << 20,
		WorkspaceGrace:    DefaultWorkspaceGrace,
		Checkout:          GitCheckout,
		CheckoutTimeout:   DefaultCheckoutTimeout,
		Ports:             api.DefaultPorts,
		Now:               time.Now,
	}
}

// Validate reports the first problem with c.
func (c *Config) Validate() error {
	switch {
	case c.Server == "":
		return errors.New("agent: no server address")
	case c.DataDir == "":
		return errors.New("agent: no data dir")
	case c.Address == "":
		return errors.New("agent: no advertised HTTP address")
	case c.NodeName == "":
		return errors.New("agent: no node name")
	case c.CPUMilli < 0 || c.MemoryBytes < 0:
		return fmt.Errorf("agent: negative resources (cpu %dm, memory %d)", c.CPUMilli, c.MemoryBytes)
	case c.Ports.Min < 0 || c.Ports.Max > 65535 || c.Ports.Min > c.Ports.Max:
		return fmt.Errorf("agent: port range %d-%d is not within 0-65535 with min <= max", c.Ports.Min, c.Ports.Max)
	case c.HeartbeatInterval < 100*time.Millisecond:
		return fmt.Errorf("agent: heartbeat interval %v is under 100ms", c.HeartbeatInterval)
	case c.ReportBatch < 0 || c.ReportBatch > time.Second:
		return fmt.Errorf("agent: report batch %v is not within 0 to 1s", c.ReportBatch)
	case c.WorkspaceGrace < 0:
		return fmt.Errorf("agent: workspace grace %v is negative", c.WorkspaceGrace)
	case c.CheckoutTimeout <= 0:
		return fmt.Errorf("agent: checkout timeout %v is not positive", c.CheckoutTimeout)
	case c.Checkout == nil:
		return errors.New("agent: no checkout function")
	case c.Now == nil:
		return errors.New("agent: no clock")
	}
	return nil
}
