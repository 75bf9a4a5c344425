package scheduler

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/phalanx-sched/phalanx/api"
)

// ErrDoesNotFit is wrapped by every error CheckPlacement returns.
var ErrDoesNotFit = errors.New("placement does not fit")

// Usage is what live allocations hold on one node. Add is the one way to
// count an allocation or placement in it.
type Usage struct {
	CPUMilli    int64
	MemoryBytes int64
	// GPUsInUse holds the indices of the GPUs allocations hold.
	GPUsInUse map[int]bool
	// PortsInUse holds the host ports allocations hold.
	PortsInUse map[int]bool
}

// NodeUsage sums what the live allocations on node nodeID hold. Allocations
// on other nodes, and ones that are not live, are ignored. GPUsInUse and
// PortsInUse are never nil.
func NodeUsage(nodeID string, allocs []*api.Allocation) Usage {
	u := Usage{GPUsInUse: map[int]bool{}, PortsInUse: map[int]bool{}}
	for _, a := range allocs {
		if a == nil || a.NodeID != nodeID || !a.Live() {
			continue
		}
		u.Add(a.Task.Resources, a.GPUIndices, a.Ports)
	}
	return u
}

// Add counts one more allocation of resources r holding the GPUs at
// gpuIndices and the host ports in ports.
func (u *Usage) Add(r api.Resources, gpuIndices, ports []int) {
	u.CPUMilli += r.CPUMilli
	u.MemoryBytes += r.MemoryBytes
	if u.GPUsInUse == nil {
		u.GPUsInUse = map[int]bool{}
	}
	for _, g := range gpuIndices {
		u.GPUsInUse[g] = true
	}
	if u.PortsInUse == nil {
		u.PortsInUse = map[int]bool{}
	}
	for _, p := range ports {
		u.PortsInUse[p] = true
	}
}

// Clone returns a copy of u that shares no map with it, so that adding to
// one does not change the other.
func (u Usage) Clone() Usage {
	u.GPUsInUse = maps.Clone(u.GPUsInUse)
	u.PortsInUse = maps.Clone(u.PortsInUse)
	if u.GPUsInUse == nil {
		u.GPUsInUse = map[int]bool{}
	}
	if u.PortsInUse == nil {
		u.PortsInUse = map[int]bool{}
	}
	return u
}

// CheckPlacement reports nil if p, for a task asking for r, still fits on
// node given what u already holds there, and otherwise an error wrapping
// ErrDoesNotFit that says why. It applies the same rules as Schedule: the
// node is ready, has the CPU and memory free, and every GPU in p exists with
// the UUID given, is healthy, matches r's model and memory filters and is
// not in use, and every host port in p is in the node's port range and not
// in use. It does not check that p's GPUs are the ones Schedule would
// choose, nor whether p should hold a port (see NeedsRendezvousPort).
func CheckPlacement(node *api.Node, u Usage, r api.Resources, p Placement) error {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%s[%d] on node %s: %s: %w", p.Member.Group, p.Member.Index, p.NodeID, fmt.Sprintf(format, args...), ErrDoesNotFit)
	}
	switch {
	case node == nil || node.ID != p.NodeID:
		return fail("node not found")
	case node.Status != api.NodeReady:
		return fail("node is %s", node.Status)
	case node.Drain != nil:
		return fail("node is draining")
	case validateResources(r) != nil:
		return fail("%v", validateResources(r))
	case node.Resources.CPUMilli-u.CPUMilli < r.CPUMilli:
		return fail("not enough CPU: %dm free, %dm wanted", node.Resources.CPUMilli-u.CPUMilli, r.CPUMilli)
	case node.Resources.MemoryBytes-u.MemoryBytes < r.MemoryBytes:
		return fail("not enough memory: %d bytes free, %d wanted", node.Resources.MemoryBytes-u.MemoryBytes, r.MemoryBytes)
	case len(p.GPUIndices) != r.GPUs || len(p.GPUs) != r.GPUs:
		return fail("task wants %d GPUs, placement has %d indices and %d UUIDs", r.GPUs, len(p.GPUIndices), len(p.GPUs))
	}
	for i, idx := range p.GPUIndices {
		g := findGPU(node, idx)
		switch {
		case g == nil:
			return fail("node has no GPU %d", idx)
		case g.UUID != p.GPUs[i]:
			return fail("GPU %d is %s, not %s", idx, g.UUID, p.GPUs[i])
		case !g.Healthy:
			return fail("GPU %d is unhealthy", idx)
		case !modelMatches(r.GPUModel, g.Model):
			return fail("GPU %d is a %s, not %s", idx, g.Model, r.GPUModel)
		case g.MemoryBytes < r.GPUMemoryBytes:
			return fail("GPU %d has %d bytes of memory, less than %d", idx, g.MemoryBytes, r.GPUMemoryBytes)
		case u.GPUsInUse[idx]:
			return fail("GPU %d is in use", idx)
		}
		for _, other := range p.GPUIndices[:i] {
			if other == idx {
				return fail("GPU %d listed twice", idx)
			}
		}
	}
	for i, port := range p.Ports {
		switch {
		case !inRange(node.Ports, port):
			return fail("port %d is outside the node's port range %s", port, formatPorts(node.Ports))
		case u.PortsInUse[port]:
			return fail("port %d is in use", port)
		case slices.Contains(p.Ports[:i], port):
			return fail("port %d listed twice", port)
		}
	}
	return nil
}

func formatPorts(r api.PortRange) string {
	if !offersPorts(r) {
		return "(none)"
	}
	return fmt.Sprintf("%d-%d", r.Min, r.Max)
}

func findGPU(node *api.Node, index int) *api.GPU {
	for i := range node.GPUs {
		if node.GPUs[i].Index == index {
			return &node.GPUs[i]
		}
	}
	return nil
}
