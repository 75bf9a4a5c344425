package docker

import (
	"sort"
	"strconv"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/strslice"

	"github.com/phalanx-sched/phalanx/api"
)

// Labels on every container this runtime creates.
const (
	LabelAllocID = "phalanx.alloc_id"
	LabelJobID   = "phalanx.job_id"
	LabelJobName = "phalanx.job_name"
	LabelGroup   = "phalanx.group"
	LabelIndex   = "phalanx.index"
	LabelManaged = "phalanx.managed"
)

// gpuEnv are the variables that say which GPUs a container may use; the
// runtime sets them and a task cannot override them.
var gpuEnv = []string{"NVIDIA_VISIBLE_DEVICES", "CUDA_VISIBLE_DEVICES"}

// containerName is the name of alloc's container.
func containerName(allocID string) string { return "phalanx-" + allocID }

// containerSpec translates alloc into the container to create. It is pure.
func containerSpec(alloc *api.Allocation, cfg Config) (*container.Config, *container.HostConfig, string) {
	task := alloc.Task
	cc := &container.Config{
		Image:      task.Image,
		Env:        containerEnv(alloc, cfg),
		WorkingDir: task.WorkingDir,
		Labels: map[string]string{
			LabelAllocID: alloc.ID,
			LabelJobID:   alloc.JobID,
			LabelJobName: alloc.JobName,
			LabelGroup:   alloc.Group,
			LabelIndex:   strconv.Itoa(alloc.Index),
			LabelManaged: "true",
		},
	}
	if len(task.Command) > 0 {
		cc.Entrypoint = strslice.StrSlice(append([]string(nil), task.Command...))
	}

	init := true
	pids := cfg.PidsLimit
	hc := &container.HostConfig{
		Init:        &init,
		Privileged:  false,
		NetworkMode: container.NetworkMode(cfg.Network),
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
	return cc, hc, containerName(alloc.ID)
}

// containerEnv is Task.Env in sorted order, less the GPU variables, then
// the GPU variables naming exactly alloc's GPUs.
func containerEnv(alloc *api.Allocation, cfg Config) []string {
	keys := make([]string, 0, len(alloc.Task.Env))
	for k := range alloc.Task.Env {
		if k != gpuEnv[0] && k != gpuEnv[1] {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	env := make([]string, 0, len(keys)+2)
	for _, k := range keys {
		env = append(env, k+"="+alloc.Task.Env[k])
	}
	visible := strings.Join(alloc.GPUs, ",")
	nvidia := visible
	if len(alloc.GPUs) == 0 && cfg.GPUMode == GPUModeNvidia {
		nvidia = "void"
	}
	return append(env, "NVIDIA_VISIBLE_DEVICES="+nvidia, "CUDA_VISIBLE_DEVICES="+visible)
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
