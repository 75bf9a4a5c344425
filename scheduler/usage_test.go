package scheduler

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/phalanx-sched/phalanx/api"
)

func TestNodeUsage(t *testing.T) {
	stopped := alloc("a3", "x", "n1", res(1, 1, 1), 3)
	stopped.State = api.AllocStopped
	stopped.Ports = []int{29501}
	allocs := []*api.Allocation{
		holding(alloc("a1", "x", "n1", res(2, 4, 2), 0, 1), 29500),
		holding(alloc("a2", "x", "n2", res(8, 8, 1), 2), 29501),
		stopped,
		holding(alloc("a4", "y", "n1", res(1, 1, 1), 5), 29502),
	}
	want := Usage{CPUMilli: 3000, MemoryBytes: 5 * gi, GPUsInUse: map[int]bool{0: true, 1: true, 5: true}, PortsInUse: map[int]bool{29500: true, 29502: true}}
	if diff := cmp.Diff(want, NodeUsage("n1", allocs)); diff != "" {
		t.Errorf("NodeUsage() mismatch (-want +got):\n%s", diff)
	}
	if got := NodeUsage("n3", allocs); got.GPUsInUse == nil || got.PortsInUse == nil {
		t.Errorf("NodeUsage() of an idle node = %+v, want non-nil maps", got)
	}
}

func TestCheckPlacement(t *testing.T) {
	n1 := unhealthy(node("n1", 8, 32, 4), 3)
	busy := Usage{CPUMilli: 4000, MemoryBytes: 24 * gi, GPUsInUse: map[int]bool{0: true}, PortsInUse: map[int]bool{29500: true}}
	w := member("w", 0, 0)
	tests := []struct {
		name string
		node *api.Node
		u    Usage
		r    api.Resources
		p    Placement
		want string // "" for fits
	}{
		{"fits", n1, busy, res(4, 8, 2), place(w, "n1", 1, 2), ""},
		{"fits on an idle node with zero usage", n1, Usage{}, res(8, 32, 0), place(w, "n1"), ""},
		{"GPU taken", n1, busy, res(1, 1, 1), place(w, "n1", 0), "w[0] on node n1: GPU 0 is in use: placement does not fit"},
		{"memory exceeded", n1, busy, res(1, 9, 1), place(w, "n1", 1),
			"w[0] on node n1: not enough memory: 8589934592 bytes free, 9663676416 wanted: placement does not fit"},
		{"CPU exceeded", n1, busy, res(5, 1, 0), place(w, "n1"), "w[0] on node n1: not enough CPU: 4000m free, 5000m wanted: placement does not fit"},
		{"node down", down(node("n1", 8, 32, 4)), Usage{}, res(1, 1, 1), place(w, "n1", 0), "w[0] on node n1: node is down: placement does not fit"},
		{"wrong node", node("n2", 8, 32, 4), Usage{}, res(1, 1, 1), place(w, "n1", 0), "w[0] on node n1: node not found: placement does not fit"},
		{"unhealthy GPU", n1, busy, res(1, 1, 1), place(w, "n1", 3), "w[0] on node n1: GPU 3 is unhealthy: placement does not fit"},
		{"no such GPU", n1, busy, res(1, 1, 1), place(w, "n1", 9), "w[0] on node n1: node has no GPU 9: placement does not fit"},
		{"GPU count differs", n1, busy, res(1, 1, 2), place(w, "n1", 1), "w[0] on node n1: task wants 2 GPUs, placement has 1 indices and 1 UUIDs: placement does not fit"},
		{"GPU twice", n1, busy, res(1, 1, 2), place(w, "n1", 1, 1), "w[0] on node n1: GPU 1 listed twice: placement does not fit"},
		{"UUID differs", n1, busy, res(1, 1, 1), Placement{Member: w, NodeID: "n1", GPUIndices: []int{1}, GPUs: []string{"GPU-x"}},
			"w[0] on node n1: GPU 1 is GPU-n1-1, not GPU-x: placement does not fit"},
		{"model mismatch", n1, busy, withModel(res(1, 1, 1), "*A100*", 0), place(w, "n1", 1),
			"w[0] on node n1: GPU 1 is a NVIDIA H100 80GB HBM3, not *A100*: placement does not fit"},
		{"GPU memory too small", n1, busy, withModel(res(1, 1, 1), "", 96), place(w, "n1", 1),
			"w[0] on node n1: GPU 1 has 85899345920 bytes of memory, less than 103079215104: placement does not fit"},
		{"free port", n1, busy, res(1, 1, 0), withPort(place(w, "n1"), 29501), ""},
		{"last port of the range", n1, busy, res(1, 1, 0), withPort(place(w, "n1"), 29999), ""},
		{"port taken", n1, busy, res(1, 1, 0), withPort(place(w, "n1"), 29500), "w[0] on node n1: port 29500 is in use: placement does not fit"},
		{"port below the range", n1, busy, res(1, 1, 0), withPort(place(w, "n1"), 29499),
			"w[0] on node n1: port 29499 is outside the node's port range 29500-29999: placement does not fit"},
		{"port above the range", n1, busy, res(1, 1, 0), withPort(place(w, "n1"), 30000),
			"w[0] on node n1: port 30000 is outside the node's port range 29500-29999: placement does not fit"},
		{"node offers no ports", ports(node("n1", 8, 32, 0), 0, 0), Usage{}, res(1, 1, 0), withPort(place(w, "n1"), 29500),
			"w[0] on node n1: port 29500 is outside the node's port range (none): placement does not fit"},
		{"port twice", n1, busy, res(1, 1, 0), withPort(withPort(place(w, "n1"), 29501), 29501),
			"w[0] on node n1: port 29501 listed twice: placement does not fit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckPlacement(tt.node, tt.u, tt.r, tt.p)
			got := ""
			if err != nil {
				got = err.Error()
				if !errors.Is(err, ErrDoesNotFit) {
					t.Errorf("CheckPlacement() = %v, does not wrap ErrDoesNotFit", err)
				}
			}
			if got != tt.want {
				t.Errorf("CheckPlacement() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestUsageAddAndClone(t *testing.T) {
	var u Usage // the zero Usage is ready to use
	u.Add(res(1, 2, 1), []int{3}, []int{29500})
	c := u.Clone()
	c.Add(res(1, 1, 1), []int{4}, []int{29501})
	want := Usage{CPUMilli: 1000, MemoryBytes: 2 * gi, GPUsInUse: map[int]bool{3: true}, PortsInUse: map[int]bool{29500: true}}
	if diff := cmp.Diff(want, u); diff != "" {
		t.Errorf("adding to a clone changed the original (-want +got):\n%s", diff)
	}
	want = Usage{CPUMilli: 2000, MemoryBytes: 3 * gi, GPUsInUse: map[int]bool{3: true, 4: true}, PortsInUse: map[int]bool{29500: true, 29501: true}}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("clone after Add mismatch (-want +got):\n%s", diff)
	}
	if z := (Usage{}).Clone(); z.GPUsInUse == nil || z.PortsInUse == nil {
		t.Errorf("Clone() of the zero Usage = %+v, want non-nil maps", z)
	}
}
