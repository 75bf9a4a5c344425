package executor_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/phalanx-sched/phalanx/api"
	"github.com/phalanx-sched/phalanx/executor"
)

// The servers take any request of a node as a heartbeat, so the agent
// sends heartbeats only when it has sent nothing else for a heartbeat
// interval: an idle node beats at the interval, a node whose polls come
// back all the time does not beat at all. The servers here are a stub
// that counts requests; the real servers' side is in
// scheduler/server/heartbeats_test.go.
func TestHeartbeatsOnlyWhenNothingElseWentOut(t *testing.T) {
	idle := heartbeatsInASecond(t, time.Hour, true)           // polls wait long
	busy := heartbeatsInASecond(t, 10*time.Millisecond, true) // polls come back all the time
	// A server that does not say it counted the polls (an older one)
	// gets heartbeats however busy the node.
	older := heartbeatsInASecond(t, 10*time.Millisecond, false)
	// At a 100ms interval an idle node beats about ten times a second;
	// bounds are loose, for slow machines.
	if idle < 3 || idle > 12 {
		t.Fatalf("an idle node sent %d heartbeats in a second at a 100ms interval", idle)
	}
	if busy*3 > idle {
		t.Fatalf("a node whose polls come back every 10ms sent %d heartbeats in a second (an idle one %d)", busy, idle)
	}
	if older*2 < idle {
		t.Fatalf("to a server that does not count polls, a busy node sent %d heartbeats in a second (an idle one %d)", older, idle)
	}
}

// heartbeatsInASecond runs an agent against a stub server whose
// allocation polls come back after poll, saying they counted as the
// node's heartbeat if counts, and counts its heartbeats over a second.
func heartbeatsInASecond(t *testing.T, poll time.Duration, counts bool) int64 {
	var beats atomic.Int64
	var index atomic.Uint64
	var agentHeader atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/heartbeat"):
			beats.Add(1)
			w.WriteHeader(http.StatusNoContent)
		case strings.HasSuffix(r.URL.Path, "/allocations"):
			agentHeader.Store(r.Header.Get(api.AgentHeader))
			if counts {
				w.Header().Set(api.HeardHeader, "1")
			}
			select {
			case <-time.After(poll):
			case <-r.Context().Done():
				return
			}
			json.NewEncoder(w).Encode(api.NodeAllocations{Index: index.Add(1), Allocations: []*api.Allocation{}})
		default: // registration
			json.NewEncoder(w).Encode(map[string]string{"id": "n1"})
		}
	}))
	defer srv.Close()
	cfg := executor.DefaultConfig()
	cfg.Server, cfg.NodeName, cfg.DataDir, cfg.Address = srv.Listener.Addr().String(), "n1", t.TempDir(), "127.0.0.1:1"
	cfg.CPUMilli, cfg.MemoryBytes, cfg.HeartbeatInterval, cfg.Quiet = 1000, 1<<30, 100*time.Millisecond, true
	ag, err := executor.New(cfg, newFakeRuntime())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); ag.Run(ctx) }()
	defer func() { cancel(); srv.CloseClientConnections(); <-done }()
	time.Sleep(300 * time.Millisecond) // registered and polling
	before := beats.Load()
	time.Sleep(time.Second)
	if got, _ := agentHeader.Load().(string); got != ag.NodeID() {
		t.Fatalf("the agent's polls carry %s %q, want its node ID %q", api.AgentHeader, got, ag.NodeID())
	}
	return beats.Load() - before
}
