package scheduler

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/phalanx-sched/phalanx/api"
)

var models = []struct {
	name string
	mem  int64
}{{h100, 80}, {"NVIDIA A100-SXM4-40GB", 40}, {"NVIDIA L4", 24}}

// randomInput returns a random cluster with some live work on it and a
// random queue of jobs.
func randomInput(r *rand.Rand) Input {
	var in Input
	in.Now = t0
	for i := range r.IntN(12) {
		n := node(fmt.Sprintf("n%02d", i), 4+r.Int64N(61), 8+r.Int64N(505), 0)
		m := models[r.IntN(len(models))]
		// GPU indices out of order and with gaps, as NVML may report them.
		for _, k := range r.Perm(r.IntN(9)) {
			n.GPUs = append(n.GPUs, api.GPU{Index: 2 * k, UUID: uuid(n.ID, 2*k), Model: m.name, MemoryBytes: m.mem * gi, Healthy: r.IntN(10) > 0})
		}
		n.Resources.GPUs = len(n.GPUs)
		if r.IntN(10) == 0 {
			n.Status = api.NodeDown
		}
		// Few ports, so that ranges run out; some nodes offer none.
		n.Ports = api.PortRange{Min: 29500, Max: 29500 + r.IntN(3)}
		if r.IntN(6) == 0 {
			n.Ports = api.PortRange{}
		}
		// NVLink on half the nodes: each GPU may list one earlier GPU, or
		// a GPU the node does not have, on one side only.
		if r.IntN(2) == 0 {
			for k := range n.GPUs {
				switch x := r.IntN(4); {
				case x < 2 && k > 0:
					n.GPUs[k].NVLinkPeers = []int{n.GPUs[r.IntN(k)].Index}
				case x == 2:
					n.GPUs[k].NVLinkPeers = []int{99}
				}
			}
		}
		in.Nodes = append(in.Nodes, n)
		// Existing work within the node's capacity.
		var cpu, mem int64
		for k, g := range n.GPUs {
			if r.IntN(3) > 0 {
				continue
			}
			rc, rm := r.Int64N(4)*1000, r.Int64N(16)*gi
			if cpu+rc > n.Resources.CPUMilli || mem+rm > n.Resources.MemoryBytes {
				continue
			}
			cpu, mem = cpu+rc, mem+rm
			a := alloc(fmt.Sprintf("a-%s-%d", n.ID, k), "old", n.ID, api.Resources{CPUMilli: rc, MemoryBytes: rm, GPUs: 1}, g.Index)
			if r.IntN(3) == 0 {
				a.Ports = []int{29499 + r.IntN(4)} // in the range or just outside it
			}
			in.Allocs = append(in.Allocs, a)
		}
	}
	in.Allocs = append(in.Allocs, alloc("a-gone", "old", "gone", res(1, 1, 1), 0))
	for i := range r.IntN(16) {
		var groups []api.Group
		for g := range 1 + r.IntN(2) {
			rs := api.Resources{CPUMilli: r.Int64N(17) * 500, MemoryBytes: r.Int64N(65) * gi, GPUs: r.IntN(5)}
			switch r.IntN(4) {
			case 0:
				rs.GPUModel = "*H100*"
			case 1:
				rs.GPUMemoryBytes = 32 * gi
			}
			groups = append(groups, group(fmt.Sprintf("g%d", g), 1+r.IntN(4), rs))
		}
		j := job(fmt.Sprintf("j%02d", i), 10*r.IntN(3), r.IntN(3), r.IntN(2) == 0, groups...)
		switch r.IntN(8) {
		case 0:
			j.State = api.JobRunning
		case 1:
			j.State = api.JobSucceeded
		}
		in.Jobs = append(in.Jobs, request(j))
	}
	return in
}

// shuffled returns in with every slice, and every job's members, in a
// random order.
func shuffled(r *rand.Rand, in Input) Input {
	out := in
	out.Nodes = append([]*api.Node(nil), in.Nodes...)
	out.Allocs = append([]*api.Allocation(nil), in.Allocs...)
	out.Jobs = nil
	for _, j := range in.Jobs {
		c := *j
		c.Members = append([]Member(nil), j.Members...)
		r.Shuffle(len(c.Members), func(a, b int) { c.Members[a], c.Members[b] = c.Members[b], c.Members[a] })
		out.Jobs = append(out.Jobs, &c)
	}
	r.Shuffle(len(out.Nodes), func(a, b int) { out.Nodes[a], out.Nodes[b] = out.Nodes[b], out.Nodes[a] })
	r.Shuffle(len(out.Allocs), func(a, b int) { out.Allocs[a], out.Allocs[b] = out.Allocs[b], out.Allocs[a] })
	r.Shuffle(len(out.Jobs), func(a, b int) { out.Jobs[a], out.Jobs[b] = out.Jobs[b], out.Jobs[a] })
	return out
}

func TestScheduleDeterministic(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 50 {
		in := randomInput(r)
		want := Schedule(in)
		for range 5 {
			if diff := cmp.Diff(want, Schedule(shuffled(r, in))); diff != "" {
				t.Fatalf("input %d: shuffled input gives a different plan (-want +got):\n%s", i, diff)
			}
		}
	}
}

func TestScheduleProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	placedAny, pendingAny, gangs := 0, 0, 0
	for i := range 200 {
		in := randomInput(r)
		before := mustJSON(t, in)
		plan := Schedule(in)
		if after := mustJSON(t, in); after != before {
			t.Fatalf("input %d: Schedule changed its input", i)
		}
		checkPlan(t, fmt.Sprintf("input %d", i), in, plan)
		placedAny += len(plan.Jobs)
		pendingAny += len(plan.Pending)
		for _, jp := range plan.Jobs {
			if len(jp.Placements) > 1 && jobByID(in, jp.JobID).Spec.Gang {
				gangs++
			}
		}
	}
	// The generator must exercise both outcomes, or the test proves little.
	t.Logf("%d jobs placed, %d pending, %d multi-member gangs placed", placedAny, pendingAny, gangs)
	if placedAny < 100 || pendingAny < 100 || gangs < 20 {
		t.Errorf("weak workload: %d jobs placed, %d pending, %d multi-member gangs placed", placedAny, pendingAny, gangs)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func jobByID(in Input, id string) *api.Job {
	for _, j := range in.Jobs {
		if j.Job.ID == id {
			return j.Job
		}
	}
	return nil
}

// checkPlan checks the invariants every plan keeps.
func checkPlan(t *testing.T, label string, in Input, plan Plan) {
	t.Helper()
	nodes := map[string]*api.Node{}
	for _, n := range in.Nodes {
		nodes[n.ID] = n
	}
	usage := map[string]*Usage{}
	for _, n := range in.Nodes {
		u := NodeUsage(n.ID, in.Allocs)
		usage[n.ID] = &u
	}
	reservedNodes := map[string]bool{}
	for _, rv := range plan.Reservations {
		for _, id := range rv.NodeIDs {
			reservedNodes[id] = true
		}
	}
	placedJobs := map[string]bool{}
	for _, jp := range plan.Jobs {
		if placedJobs[jp.JobID] {
			t.Fatalf("%s: job %s placed twice", label, jp.JobID)
		}
		placedJobs[jp.JobID] = true
		j := jobByID(in, jp.JobID)
		ports := 0
		for _, p := range jp.Placements {
			n := nodes[p.NodeID]
			r := j.Spec.Groups[p.Member.GroupIndex].Task.Resources
			u := usage[p.NodeID]
			// CheckPlacement covers a ready node, CPU and memory within
			// capacity counting existing allocations, no GPU held twice, and
			// every port within the node's range and held once.
			if err := CheckPlacement(n, *u, r, p); err != nil {
				t.Fatalf("%s: job %s: %v", label, j.ID, err)
			}
			if want := NeedsRendezvousPort(j, p.Member); want != (len(p.Ports) == 1) || len(p.Ports) > 1 {
				t.Fatalf("%s: job %s: %s[%d] holds ports %v, needs a rendezvous port: %v", label, j.ID, p.Member.Group, p.Member.Index, p.Ports, want)
			}
			ports += len(p.Ports)
			// FIFO has no topology preference, and GPUs that a
			// reservation holds look free here: no NVLink check there.
			if in.Policy != PolicyFIFO && !reservedNodes[p.NodeID] {
				checkNVLinkChoice(t, label+": job "+j.ID, n, *u, r, p)
			}
			u.Add(r, p.GPUIndices, p.Ports)
		}
		if j.Spec.Gang && j.Members() > 1 && ports != 1 {
			t.Fatalf("%s: gang %s of %d members holds %d ports, want 1", label, j.ID, j.Members(), ports)
		}
	}
	pending := map[string]bool{}
	for _, p := range plan.Pending {
		if pending[p.JobID] {
			t.Fatalf("%s: job %s pending twice", label, p.JobID)
		}
		if p.Reason == "" {
			t.Fatalf("%s: job %s pending without a reason", label, p.JobID)
		}
		pending[p.JobID] = true
	}
	placedCount := map[string]int{}
	for _, jp := range plan.Jobs {
		placedCount[jp.JobID] = len(jp.Placements)
	}
	for _, req := range in.Jobs {
		j := req.Job
		considered := j.State == api.JobQueued || j.State == api.JobRunning
		n, want := placedCount[j.ID], len(req.Members)
		switch {
		case !considered && (n > 0 || pending[j.ID]):
			t.Fatalf("%s: job %s is %s but appears in the plan", label, j.ID, j.State)
		case !considered:
		case j.Spec.Gang && n != 0 && n != want:
			t.Fatalf("%s: gang %s placed %d of %d members", label, j.ID, n, want)
		case n == want && pending[j.ID]:
			t.Fatalf("%s: job %s placed fully but also pending", label, j.ID)
		case n < want && !pending[j.ID]:
			t.Fatalf("%s: job %s placed %d of %d members and is not pending", label, j.ID, n, want)
		}
	}
}

func TestScheduleGPUIndicesOutOfOrder(t *testing.T) {
	// GPUs listed out of index order, with gaps and an unhealthy one: the
	// pick is still the lowest usable indices.
	n := node("n1", 64, 512, 0)
	for _, k := range []int{6, 0, 4, 2} {
		n.GPUs = append(n.GPUs, api.GPU{Index: k, UUID: uuid("n1", k), Model: h100, MemoryBytes: 80 * gi, Healthy: k != 2})
	}
	in := Input{Nodes: []*api.Node{n}, Jobs: requests(job("j", 50, 0, false, group("w", 1, res(1, 1, 2))))}
	want := Plan{Jobs: []JobPlacement{{JobID: "j", Placements: []Placement{place(member("w", 0, 0), "n1", 0, 4)}}}}
	if diff := cmp.Diff(want, Schedule(in), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("Schedule() mismatch (-want +got):\n%s", diff)
	}
}

// checkNVLinkChoice checks p's GPUs against an independent statement of the
// rule: when some NVLink domain of n has enough free GPUs usable by r, p's
// GPUs lie in one such domain and it is one with the fewest of them.
func checkNVLinkChoice(t *testing.T, label string, n *api.Node, u Usage, r api.Resources, p Placement) {
	t.Helper()
	domain := testDomains(n)
	if domain == nil || r.GPUs == 0 {
		return
	}
	free := map[int]int{} // by domain
	for _, g := range n.GPUs {
		if g.Healthy && !u.GPUsInUse[g.Index] && modelMatches(r.GPUModel, g.Model) && g.MemoryBytes >= r.GPUMemoryBytes {
			free[domain[g.Index]]++
		}
	}
	fewest := -1
	for _, f := range free {
		if f >= r.GPUs && (fewest < 0 || f < fewest) {
			fewest = f
		}
	}
	if fewest < 0 {
		return // no domain can hold it: lowest indices, as without NVLink
	}
	d := domain[p.GPUIndices[0]]
	for _, idx := range p.GPUIndices {
		if domain[idx] != d {
			t.Fatalf("%s: GPUs %v span NVLink domains, though one has %d free", label, p.GPUIndices, fewest)
		}
	}
	if free[d] != fewest {
		t.Fatalf("%s: GPUs %v are in a domain with %d free, another has %d", label, p.GPUIndices, free[d], fewest)
	}
}

// testDomains labels each GPU index of n with its NVLink domain by graph
// search, or returns nil if no two GPUs of n are linked.
func testDomains(n *api.Node) map[int]int {
	adj := map[int][]int{}
	for _, g := range n.GPUs {
		adj[g.Index] = nil // every GPU is a vertex
	}
	linked := false
	for _, g := range n.GPUs {
		for _, peer := range g.NVLinkPeers {
			if _, ok := adj[peer]; ok && peer != g.Index {
				adj[g.Index] = append(adj[g.Index], peer)
				adj[peer] = append(adj[peer], g.Index)
				linked = true
			}
		}
	}
	if !linked {
		return nil
	}
	domain := map[int]int{}
	for _, g := range n.GPUs {
		if _, seen := domain[g.Index]; seen {
			continue
		}
		label := g.Index // the domain's first GPU in list order
		domain[label] = label
		stack := []int{label}
		for len(stack) > 0 {
			v := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			for _, w := range adj[v] {
				if _, seen := domain[w]; !seen {
					domain[w] = label
					stack = append(stack, w)
				}
			}
		}
	}
	return domain
}
