package server

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/hashicorp/raft"

	"github.com/phalanx-sched/phalanx/api"
)

// Config is one server's configuration.
type Config struct {
	// NodeID is this server's stable Raft ID.
	NodeID string
	// DataDir holds the Raft log, stable store and snapshots. Ignored when
	// InMemory is set.
	DataDir string
	// RaftAddr is the TCP address Raft listens on (host:port);
	// RaftAdvertise, if set, is the one other servers dial (needed when
	// RaftAddr is 0.0.0.0).
	RaftAddr      string
	RaftAdvertise string
	// HTTPAddr is the address other servers and clients reach this
	// server's HTTP API on; followers forward writes to the leader's.
	HTTPAddr string
	// Bootstrap makes a server with no Raft state start a cluster of one.
	Bootstrap bool
	// HeartbeatTTL is how long a node may go without a heartbeat before it
	// is marked down and its allocations are lost.
	HeartbeatTTL time.Duration
	// SnapshotThreshold is how many new log entries make a Raft snapshot
	// (checked every SnapshotInterval); the log is then compacted down to
	// TrailingLogs entries.
	SnapshotThreshold uint64
	SnapshotInterval  time.Duration
	TrailingLogs      uint64
	// RaftMultiplier scales Raft's heartbeat, election and leader-lease
	// timeouts (500 ms, 500 ms, 250 ms at 1): raise it on machines so
	// loaded that a leader cannot reach its followers that fast and loses
	// leadership for nothing. Failover takes about as much longer. 0 is 1.
	RaftMultiplier int
	// ApplyTimeout bounds one Raft write.
	ApplyTimeout time.Duration
	// ScheduleBatch is how long the leader lets a burst of writes settle
	// before a scheduling pass, so thousands of reports a second cost a
	// few passes, not thousands.
	ScheduleBatch time.Duration
	// Queues are the queues this server's configuration declares. A
	// leader creates or updates them when it takes over (phalanx queue
	// apply changes them at run time); the queue "default" always exists.
	Queues []api.Queue
	// PreemptionGap is how many priority points a job must be above a
	// running job of its own queue to preempt it (0: the scheduler's
	// default, 10; negative: no preemption within a queue).
	PreemptionGap int
	// FetchTimeout bounds reading a run's pipeline file from its repo.
	FetchTimeout time.Duration
	// LogOutput receives Raft's log lines (warnings and up).
	LogOutput io.Writer

	// InMemory and Transport are for tests: in-memory Raft stores and a
	// given (usually in-memory) transport instead of raft-boltdb and TCP.
	InMemory  bool
	Transport raft.Transport
	// Now is the clock; tests pass a fake one.
	Now func() time.Time
}

// DefaultConfig returns a single-server configuration.
func DefaultConfig() Config {
	return Config{
		NodeID:            "server-1",
		DataDir:           "phalanx-data/server",
		RaftAddr:          "127.0.0.1:7401",
		Bootstrap:         true,
		HeartbeatTTL:      15 * time.Second,
		SnapshotThreshold: 8192,
		SnapshotInterval:  2 * time.Minute,
		TrailingLogs:      10240,
		ApplyTimeout:      10 * time.Second,
		ScheduleBatch:     5 * time.Millisecond,
		FetchTimeout:      2 * time.Minute,
		LogOutput:         os.Stderr,
		Now:               time.Now,
	}
}

// TestConfig returns a configuration for in-process tests: in-memory Raft
// with fast timeouts.
func TestConfig(id string, trans raft.Transport) Config {
	c := DefaultConfig()
	c.NodeID, c.InMemory, c.Transport = id, true, trans
	c.LogOutput = io.Discard
	return c
}

// Validate reports the first problem with c.
func (c *Config) Validate() error {
	switch {
	case c.NodeID == "":
		return errors.New("server: node ID is empty")
	case !c.InMemory && c.DataDir == "":
		return errors.New("server: data dir is empty")
	case c.Transport == nil && c.RaftAddr == "":
		return errors.New("server: raft address is empty")
	case c.HeartbeatTTL < time.Second:
		return fmt.Errorf("server: heartbeat TTL %v is under 1s", c.HeartbeatTTL)
	case c.SnapshotThreshold < 1 || c.SnapshotInterval < time.Second:
		return fmt.Errorf("server: snapshot threshold %d and interval %v must be >= 1 and >= 1s", c.SnapshotThreshold, c.SnapshotInterval)
	case c.RaftMultiplier < 0 || c.RaftMultiplier > 10:
		return fmt.Errorf("server: raft multiplier %d: want 1 to 10", c.RaftMultiplier)
	case c.ApplyTimeout <= 0:
		return errors.New("server: apply timeout must be > 0")
	case c.FetchTimeout <= 0:
		return errors.New("server: fetch timeout must be > 0")
	case c.Now == nil:
		return errors.New("server: no clock")
	}
	return nil
}
