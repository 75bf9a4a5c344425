package docker

import (
	"strconv"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/strslice"
	"github.com/docker/go-connections/nat"

	"github.com/phalanx-sched/phalanx/api"
	"github.com/phalanx-sched/phalanx/executor"
)

// Labels on every container this runtime creates.
const (
	LabelAllocID = "phalanx.alloc_id"
	LabelJobID   = "phalanx.job_id"
	LabelJobName = "phalanx.job_name"
	LabelGroup   = "phalanx.group"
	LabelIndex   = "phalanx.index"
	LabelManaged = "phalanx.managed"
	LabelNodeID  = "phalanx.node_id"
)

// containerName is the name of alloc's container.
func containerName(allocID string) string { return "phalanx-" + allocID }

// containerSpec translates alloc, with what the agent prepared for it,
// into the container to create. It is pure.
func containerSpec(alloc *api.Allocation, prep executor.Prepared, cfg Config) (*container.Config, *container.HostConfig, string) {
	task := alloc.Task
	cc := &container.Config{
		Image:        task.Image,
		Env:          containerEnv(alloc, prep, cfg),
		WorkingDir:   task.WorkingDir,
		ExposedPorts: exposedPorts(alloc, cfg),
		Labels: map[string]string{
			LabelAllocID: alloc.ID,
			LabelJobID:   alloc.JobID,
			LabelJobName: alloc.JobName,
			LabelGroup:   alloc.Group,
			LabelIndex:   strconv.Itoa(alloc.Index),
			LabelManaged: "true",
			LabelNodeID:  alloc.NodeID,
		},
	}
	if len(task.Command) > 0 {
		cc.Entrypoint = strslice.StrSlice(append([]string(nil), task.Command...))
	}

	init := true
	pids := cfg.PidsLimit
	hc := &container.HostConfig{
		Init:         &init,
		Privileged:   false,
		NetworkMode:  networkMode(alloc, cfg),
		PortBindings: portBindings(alloc, cfg),
		LogConfig: container.LogConfig{
			Type:   "json-file",
			Config: map[string]string{"max-size": cfg.LogMaxSize, "max-file": "1"},
		},
		Resources: container.Resources{
			NanoCPUs:       task.Resources.CPUMilli * 1_000_000,
			Memory:         task.Resources.MemoryBytes,
			PidsLimit:      &pids,
			DeviceRequests: deviceRequests(alloc.GPUs, cfg.GPUMode),
		},
	}
	if task.Resources.MemoryBytes > 0 {
		hc.Resources.MemorySwap = task.Resources.MemoryBytes // no swap
	}
	if target := workspaceTarget(alloc, prep); target != "" {
		hc.Mounts = []mount.Mount{{Type: mount.TypeBind, Source: prep.WorkspaceDir, Target: target}}
		if cc.WorkingDir == "" {
			cc.WorkingDir = target
		}
	}
	return cc, hc, containerName(alloc.ID)
}

// workspaceTarget is where the container sees its workspace; "" when it
// has none.
func workspaceTarget(alloc *api.Allocation, prep executor.Prepared) string {
	if alloc.Task.Workspace == nil || prep.WorkspaceDir == "" {
		return ""
	}
	return executor.WorkspacePath(alloc.Task.Workspace)
}

// networkMode is the host's network for a task whose job asks for it (a
// gang's default), and otherwise the configured network ("" is the
// engine's default bridge).
func networkMode(alloc *api.Allocation, cfg Config) container.NetworkMode {
	if alloc.Task.Network == api.NetworkHost {
		return network.NetworkHost
	}
	return container.NetworkMode(cfg.Network)
}

// portBindings publishes an allocation's reserved host ports (a gang's
// rendezvous port) on the same port numbers when the container is not on
// the host's network, so members on other nodes reach it at
// MASTER_ADDR:MASTER_PORT.
func portBindings(alloc *api.Allocation, cfg Config) nat.PortMap {
	if len(alloc.Ports) == 0 || networkMode(alloc, cfg).IsHost() {
		return nil
	}
	m := nat.PortMap{}
	for _, p := range alloc.Ports {
		port := strconv.Itoa(p)
		m[nat.Port(port+"/tcp")] = []nat.PortBinding{{HostPort: port}}
	}
	return m
}

// exposedPorts is the set of portBindings' container ports.
func exposedPorts(alloc *api.Allocation, cfg Config) nat.PortSet {
	pb := portBindings(alloc, cfg)
	if pb == nil {
		return nil
	}
	set := nat.PortSet{}
	for p := range pb {
		set[p] = struct{}{}
	}
	return set
}

// containerEnv is the task's environment with the GPU variables naming
// exactly alloc's GPUs, and PHALANX_WORKSPACE naming its workspace's mount
// path; in nvidia mode a GPU-less container gets
// NVIDIA_VISIBLE_DEVICES=void so it never sees the host's GPUs.
func containerEnv(alloc *api.Allocation, prep executor.Prepared, cfg Config) []string {
	none := ""
	if cfg.GPUMode == GPUModeNvidia {
		none = "void"
	}
	return executor.TaskEnv(alloc, none, workspaceTarget(alloc, prep))
}

func deviceRequests(uuids []string, mode string) []container.DeviceRequest {
	if len(uuids) == 0 {
		return nil
	}
	switch mode {
	case GPUModeNvidia:
		return []container.DeviceRequest{{
			Driver:       "nvidia",
			DeviceIDs:    append([]string(nil), uuids...),
			Capabilities: [][]string{{"gpu"}},
		}}
	case GPUModeCDI:
		ids := make([]string, len(uuids))
		for i, u := range uuids {
			ids[i] = "nvidia.com/gpu=" + u
		}
		return []container.DeviceRequest{{Driver: "cdi", DeviceIDs: ids}}
	default:
		return nil
	}
}
