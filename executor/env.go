package executor

import (
	"sort"
	"strings"

	"github.com/phalanx-sched/phalanx/api"
)

// GPUEnv names the variables that tell CUDA and the NVIDIA container
// runtime which GPUs a task may use. Phalanx sets them from the
// allocation; values a task sets itself are replaced.
var GPUEnv = [2]string{"NVIDIA_VISIBLE_DEVICES", "CUDA_VISIBLE_DEVICES"}

// TaskEnv returns alloc's environment as KEY=VALUE pairs in sorted order,
// ending with NVIDIA_VISIBLE_DEVICES and CUDA_VISIBLE_DEVICES set to the
// comma-separated UUIDs of exactly the allocation's GPUs. With no GPUs,
// CUDA_VISIBLE_DEVICES is empty (CUDA then sees none) and
// NVIDIA_VISIBLE_DEVICES is noGPUs ("void" hides every GPU from the NVIDIA
// container runtime).
func TaskEnv(alloc *api.Allocation, noGPUs string) []string {
	keys := make([]string, 0, len(alloc.Task.Env))
	for k := range alloc.Task.Env {
		if k != GPUEnv[0] && k != GPUEnv[1] {
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
	if len(alloc.GPUs) == 0 {
		nvidia = noGPUs
	}
	return append(env, GPUEnv[0]+"="+nvidia, GPUEnv[1]+"="+visible)
}
