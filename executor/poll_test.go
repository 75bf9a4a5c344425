package executor_test

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/phalanx-sched/phalanx/api"
)

// The executors' poll answers in JSON by default and in binary to a
// client that asks for it, with the same allocations either way.
func TestNodeAllocationsInJSONAndBinary(t *testing.T) {
	h := newHarness(t)
	_, ag := h.startAgentWith(nil)
	id := h.submit(0)
	h.eventually("running", h.allocState(id, 0, api.AllocRunning))
	get := func(accept string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, "http://"+h.addr+"/v1/nodes/"+ag.NodeID()+"/allocations?index=0", nil)
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	resp, plain := get("")
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("default answer is %s", ct)
	}
	var fromJSON api.NodeAllocations
	if err := json.Unmarshal(plain, &fromJSON); err != nil {
		t.Fatal(err)
	}
	resp, bin := get(api.AllocationsMediaType)
	if ct := resp.Header.Get("Content-Type"); ct != api.AllocationsMediaType {
		t.Fatalf("asked for binary, got %s", ct)
	}
	fromBinary, err := api.ReadNodeAllocations(bin)
	if err != nil {
		t.Fatal(err)
	}
	if len(fromJSON.Allocations) != 1 || fromBinary.Index != fromJSON.Index {
		t.Fatalf("JSON: %d allocations at %d; binary at %d", len(fromJSON.Allocations), fromJSON.Index, fromBinary.Index)
	}
	// JSON keeps the times' zones, the binary form reads them in UTC; an
	// empty list may read as none. JSON has each task's env whole, as
	// agents that predate the rank fields read it; the binary form has
	// the rank fields, from which Env makes the same.
	for i, a := range fromBinary.Allocations {
		fromBinary.Allocations[i] = a.WithEnv()
	}
	for _, a := range append(fromJSON.Allocations, fromBinary.Allocations...) {
		a.CreateTime, a.StartTime = a.CreateTime.UTC(), a.StartTime.UTC()
	}
	if env := fromJSON.Allocations[0].Task.Env; env["PHALANX_RANK"] != "0" || env["PHALANX_WORLD_SIZE"] != "1" {
		t.Fatalf("JSON env: %v", env)
	}
	if diff := cmp.Diff(fromJSON.Allocations, fromBinary.Allocations, cmpopts.EquateEmpty()); diff != "" {
		t.Fatalf("binary differs from JSON (-json +binary):\n%s", diff)
	}
	if len(bin) >= len(plain) {
		t.Errorf("binary %d bytes, JSON %d", len(bin), len(plain))
	}
}

// Only a poll that says it comes from the node's agent counts as the
// node's heartbeat: a person's or a dashboard's keeps no node alive.
func TestOnlyTheAgentsPollsAreHeartbeats(t *testing.T) {
	h := newHarness(t)
	_, ag := h.startAgentWith(nil)
	h.eventually("registered", func() bool { _, err := h.srv.State().Snapshot().Node(ag.NodeID()); return err == nil })
	poll := func(agent string) string {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, "http://"+h.addr+"/v1/nodes/"+ag.NodeID()+"/allocations?index=0", nil)
		if agent != "" {
			req.Header.Set(api.AgentHeader, agent)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.Header.Get(api.HeardHeader)
	}
	if got := poll(""); got != "" {
		t.Errorf("a poll without %s counted as a heartbeat", api.AgentHeader)
	}
	if got := poll("another-node"); got != "" {
		t.Errorf("a poll naming another node counted as this one's heartbeat")
	}
	if got := poll(ag.NodeID()); got != "1" {
		t.Errorf("the agent's poll did not count as its heartbeat")
	}
}
