package scheduler

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/phalanx-sched/phalanx/api"
)

// The per-pass setup takes shortcuts (input already in ID order is not
// sorted, NVLink domains are numbered once per topology, a few GPU models
// and queues are found by a scan, memory is pooled). These tests check
// that every shortcut gives what the long way does.

// TestDomainCacheMatchesLinkDomains numbers the NVLink domains of random
// nodes, many sharing a topology, through the cache and directly.
func TestDomainCacheMatchesLinkDomains(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	shapes := make([][]api.GPU, 12) // more than the cache holds
	for k := range shapes {
		for _, i := range r.Perm(1 + r.IntN(8)) {
			g := api.GPU{Index: i}
			for range r.IntN(3) {
				g.NVLinkPeers = append(g.NVLinkPeers, r.IntN(10)) // some not on the node
			}
			shapes[k] = append(shapes[k], g)
		}
	}
	var nodes []*api.Node
	for i := range 200 {
		n := node(fmt.Sprintf("n%03d", i), 8, 64, 0)
		for _, g := range shapes[r.IntN(len(shapes))] {
			g.UUID, g.Model, g.MemoryBytes, g.Healthy = uuid(n.ID, g.Index), h100, 80*gi, true
			g.NVLinkPeers = slices.Clone(g.NVLinkPeers)
			n.GPUs = append(n.GPUs, g)
		}
		nodes = append(nodes, n)
	}
	c := newCluster(nodes, false, new(scratch))
	for i := range c.nodes {
		s := &c.nodes[i]
		fresh := nodeState{gpus: slices.Clone(s.gpus)}
		for k := range fresh.gpus {
			fresh.gpus[k].domain = 0
		}
		n := fresh.linkDomains(s.node.GPUs)
		if n != s.domains {
			t.Fatalf("node %s: %d domains from the cache, %d computed", s.node.ID, s.domains, n)
		}
		for k := range s.gpus {
			if n > 0 && s.gpus[k].domain != fresh.gpus[k].domain {
				t.Fatalf("node %s: GPU %d in domain %d from the cache, %d computed", s.node.ID, s.gpus[k].index, s.gpus[k].domain, fresh.gpus[k].domain)
			}
		}
	}
}

// TestDuplicateIDsInOrder: a node or allocation listed twice, even in ID
// order, counts once, as when the list is not in order.
func TestDuplicateIDsInOrder(t *testing.T) {
	nodes := []*api.Node{node("n1", 8, 64, 2), node("n2", 8, 64, 2)}
	allocs := []*api.Allocation{alloc("a1", "old", "n1", res(1, 1, 1), 0), alloc("a2", "old", "n2", res(1, 1, 1), 0)}
	jobs := requests(job("j1", 50, 0, false, group("w", 3, res(1, 1, 1))))
	want := Schedule(Input{Nodes: nodes, Allocs: allocs, Jobs: jobs, Now: t0})
	if placed := len(want.Jobs[0].Placements); placed != 2 {
		t.Fatalf("placed %d members, want 2: %+v", placed, want)
	}
	for _, in := range []Input{
		{Nodes: []*api.Node{nodes[0], nodes[0], nodes[1]}, Allocs: allocs},
		{Nodes: nodes, Allocs: []*api.Allocation{allocs[0], allocs[1], allocs[1]}},
		{Nodes: []*api.Node{nodes[1], nodes[0], nodes[1]}, Allocs: []*api.Allocation{allocs[1], allocs[0], allocs[0]}},
	} {
		in.Jobs, in.Now = jobs, t0
		if diff := cmpDiff(want, Schedule(in)); diff != "" {
			t.Errorf("duplicates change the plan (-want +got):\n%s", diff)
		}
	}
}

// TestManyGPUModels: past the few models found by a scan, a map takes
// over; every job still gets the model its glob names.
func TestManyGPUModels(t *testing.T) {
	var nodes []*api.Node
	var jobs []*JobRequest
	for i := range 12 {
		model := fmt.Sprintf("Model-%02d", i)
		nodes = append(nodes, gpuModel(node(fmt.Sprintf("n%02d", i), 8, 64, 1), model, 80))
		// Jobs in reverse order of models, each for one model.
		rs := res(1, 1, 1)
		rs.GPUModel = fmt.Sprintf("Model-%02d", 11-i)
		jobs = append(jobs, request(job(fmt.Sprintf("j%02d", i), 50, i, false, group("w", 1, rs))))
	}
	plan := Schedule(Input{Nodes: nodes, Jobs: jobs, Now: t0})
	if len(plan.Pending) > 0 || len(plan.Jobs) != 12 {
		t.Fatalf("want every job placed: %+v", plan)
	}
	for _, jp := range plan.Jobs {
		var i int
		fmt.Sscanf(jp.JobID, "j%02d", &i)
		if want := fmt.Sprintf("n%02d", 11-i); jp.Placements[0].NodeID != want {
			t.Errorf("job %s on %s, want %s (its model)", jp.JobID, jp.Placements[0].NodeID, want)
		}
	}
}

// TestManyQueues: past the few queues found by a scan, a map takes over;
// every queue's quota still holds.
func TestManyQueues(t *testing.T) {
	var queues []api.Queue
	var jobs []*JobRequest
	for q := range 12 {
		name := fmt.Sprintf("q%02d", q)
		qu := queue(name, 1, true)
		qu.Quota.GPUs = intp(1)
		queues = append(queues, qu)
		for k := range 2 {
			jobs = append(jobs, request(inQueue(name, job(fmt.Sprintf("%s-%d", name, k), 50, k, false, group("w", 1, res(1, 1, 1))))))
		}
	}
	plan := Schedule(Input{Nodes: []*api.Node{node("n1", 64, 512, 24)}, Queues: queues, Jobs: jobs, Now: t0})
	if len(plan.Jobs) != 12 || len(plan.Pending) != 12 {
		t.Fatalf("want one job of each queue placed, the other waiting: %d placed, %d pending", len(plan.Jobs), len(plan.Pending))
	}
	for _, p := range plan.Pending {
		if !strings.HasSuffix(p.JobID, "-1") || !strings.Contains(p.Reason, "queue quota") {
			t.Errorf("pending %+v, want each queue's second job waiting for its quota", p)
		}
	}
}

// TestScratchReuse runs passes of different sizes one after another, as
// pooled memory is handed from one to the next, and compares each plan
// with that of a pass on memory of its own.
func TestScratchReuse(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	var ins []Input
	for range 30 {
		ins = append(ins, randomInput(r))
	}
	fresh := make([]Plan, len(ins))
	for i, in := range ins {
		runtime.GC() // twice empties the pool: this pass gets new memory
		runtime.GC()
		fresh[i] = Schedule(in)
	}
	for range 3 {
		for _, i := range r.Perm(len(ins)) {
			if diff := cmpDiff(fresh[i], Schedule(ins[i])); diff != "" {
				t.Fatalf("input %d: the plan on reused memory differs (-fresh +reused):\n%s", i, diff)
			}
		}
	}
}
