package scheduler

import (
	"fmt"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/phalanx-sched/phalanx/api"
)

const gi = 1 << 30

const h100 = "NVIDIA H100 80GB HBM3"

var t0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// node returns a ready node with cpu cores, mem GiB, gpus healthy 80 GiB
// H100s with indices 0..gpus-1 and no NVLink, offering api.DefaultPorts.
func node(id string, cpu, mem int64, gpus int) *api.Node {
	n := &api.Node{
		ID: id, Name: id, Status: api.NodeReady, Runtime: "docker",
		Resources: api.Resources{CPUMilli: cpu * 1000, MemoryBytes: mem * gi, GPUs: gpus},
		Ports:     api.DefaultPorts,
	}
	for i := range gpus {
		n.GPUs = append(n.GPUs, api.GPU{Index: i, UUID: uuid(id, i), Model: h100, MemoryBytes: 80 * gi, Healthy: true})
	}
	return n
}

func uuid(nodeID string, index int) string { return fmt.Sprintf("GPU-%s-%d", nodeID, index) }

func down(n *api.Node) *api.Node { n.Status = api.NodeDown; return n }

// gpuModel sets every GPU of n to model with mem GiB.
func gpuModel(n *api.Node, model string, mem int64) *api.Node {
	for i := range n.GPUs {
		n.GPUs[i].Model, n.GPUs[i].MemoryBytes = model, mem*gi
	}
	return n
}

// ports sets the node's port range; ports(n, 0, 0) offers none.
func ports(n *api.Node, lo, hi int) *api.Node {
	n.Ports = api.PortRange{Min: lo, Max: hi}
	return n
}

// nvlink links every pair of GPUs within each domain, both ways, as NVML
// reports a fully connected NVSwitch domain.
func nvlink(n *api.Node, domains ...[]int) *api.Node {
	for _, dom := range domains {
		for _, a := range dom {
			for _, b := range dom {
				if a != b {
					n.GPUs[a].NVLinkPeers = append(n.GPUs[a].NVLinkPeers, b)
				}
			}
		}
	}
	return n
}

func unhealthy(n *api.Node, indices ...int) *api.Node {
	for _, i := range indices {
		n.GPUs[i].Healthy = false
	}
	return n
}

// res is cpu cores, mem GiB and gpus.
func res(cpu, mem int64, gpus int) api.Resources {
	return api.Resources{CPUMilli: cpu * 1000, MemoryBytes: mem * gi, GPUs: gpus}
}

func group(name string, count int, r api.Resources) api.Group {
	return api.Group{Name: name, Count: count, Task: api.Task{Image: "busybox", Resources: r}}
}

// job returns a queued job submitted age minutes after t0.
func job(id string, priority, minute int, gang bool, groups ...api.Group) *api.Job {
	return &api.Job{
		ID: id, Name: id, Queue: "default", Priority: priority, State: api.JobQueued,
		Spec:       api.JobSpec{Name: id, Queue: "default", Priority: priority, Gang: gang, Groups: groups},
		SubmitTime: t0.Add(time.Duration(minute) * time.Minute),
	}
}

// request asks for every member Missing reports for a job with no allocations.
func request(j *api.Job) *JobRequest {
	return &JobRequest{Job: j, Members: Missing(j, nil)}
}

func requests(jobs ...*api.Job) []*JobRequest {
	var out []*JobRequest
	for _, j := range jobs {
		out = append(out, request(j))
	}
	return out
}

// alloc returns a running allocation of job on node holding r and gpus.
func alloc(id, jobID, nodeID string, r api.Resources, gpus ...int) *api.Allocation {
	a := &api.Allocation{
		ID: id, JobID: jobID, Group: "g", NodeID: nodeID, Task: api.Task{Resources: r},
		DesiredState: api.DesiredRun, State: api.AllocRunning, GPUIndices: gpus,
	}
	for _, g := range gpus {
		a.GPUs = append(a.GPUs, uuid(nodeID, g))
	}
	return a
}

// holding makes a hold the host ports.
func holding(a *api.Allocation, ports ...int) *api.Allocation {
	a.Ports = ports
	return a
}

func member(group string, groupIndex, index int) Member {
	return Member{Group: group, GroupIndex: groupIndex, Index: index}
}

// place is a placement of member on node holding gpus.
func place(m Member, nodeID string, gpus ...int) Placement {
	p := Placement{Member: m, NodeID: nodeID}
	for _, g := range gpus {
		p.GPUIndices = append(p.GPUIndices, g)
		p.GPUs = append(p.GPUs, uuid(nodeID, g))
	}
	return p
}

// withPort is p holding the host port.
func withPort(p Placement, port int) Placement {
	p.Ports = append(p.Ports, port)
	return p
}

// queue is a queue of the weight, borrowing or not.
func queue(name string, weight int, borrow bool) api.Queue {
	return api.Queue{Name: name, Weight: weight, Borrow: borrow}
}

func intp(v int) *int { return &v }

// inQueue puts j in queue q.
func inQueue(q string, j *api.Job) *api.Job {
	j.Queue, j.Spec.Queue = q, q
	return j
}

// withWalltime gives j a walltime.
func withWalltime(d time.Duration, j *api.Job) *api.Job {
	j.Spec.Walltime = api.Duration(d)
	return j
}

// running marks j running.
func running(j *api.Job) *api.Job {
	j.State = api.JobRunning
	return j
}

// startedAt makes a the allocation of group w, started at.
func startedAt(at time.Time, a *api.Allocation) *api.Allocation {
	a.Group, a.StartTime = "w", at
	return a
}

// stopping marks a as asked to stop.
func stopping(a *api.Allocation) *api.Allocation {
	a.DesiredState = api.DesiredStop
	return a
}

// labelled sets labels on n.
func labelled(n *api.Node, kv ...string) *api.Node {
	n.Labels = map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		n.Labels[kv[i]] = kv[i+1]
	}
	return n
}

func cmpDiff(want, got any) string { return cmp.Diff(want, got, cmpopts.EquateEmpty()) }
