package executor

import (
	"slices"
	"sort"
	"strings"

	"github.com/phalanx-sched/phalanx/api"
	"github.com/phalanx-sched/phalanx/executor/logs"
)

// GPUEnv names the variables that tell CUDA and the NVIDIA container
// runtime which GPUs a task may use. Phalanx sets them from the
// allocation; values a task sets itself are replaced.
var GPUEnv = [2]string{"NVIDIA_VISIBLE_DEVICES", "CUDA_VISIBLE_DEVICES"}

// TaskEnv returns alloc's environment (alloc.Env(): the task's and the
// PHALANX_* variables) as KEY=VALUE pairs in sorted order,
// ending with NVIDIA_VISIBLE_DEVICES and CUDA_VISIBLE_DEVICES set to the
// comma-separated UUIDs of exactly the allocation's GPUs. With no GPUs,
// CUDA_VISIBLE_DEVICES is empty (CUDA then sees none) and
// NVIDIA_VISIBLE_DEVICES is noGPUs ("void" hides every GPU from the NVIDIA
// container runtime). When workspace is not empty, WorkspaceEnv is set to
// it last, replacing the task's own value.
func TaskEnv(alloc *api.Allocation, noGPUs, workspace string) []string {
	all := alloc.Env()
	keys := make([]string, 0, len(all))
	for k := range all {
		if k != GPUEnv[0] && k != GPUEnv[1] && (workspace == "" || k != WorkspaceEnv) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	env := make([]string, 0, len(keys)+2)
	for _, k := range keys {
		env = append(env, k+"="+all[k])
	}
	visible := strings.Join(alloc.GPUs, ",")
	nvidia := visible
	if len(alloc.GPUs) == 0 {
		nvidia = noGPUs
	}
	env = append(env, GPUEnv[0]+"="+nvidia, GPUEnv[1]+"="+visible)
	if workspace != "" {
		env = append(env, WorkspaceEnv+"="+workspace)
	}
	return env
}

// WorkspacePath is where ws appears inside its tasks: its MountPath, or
// api.DefaultWorkspacePath.
func WorkspacePath(ws *api.Workspace) string {
	if ws.MountPath == "" {
		return api.DefaultWorkspacePath
	}
	return ws.MountPath
}

// taskSecrets returns what task's log and messages must not show: the
// lines of the values of the variables named in SecretEnv and of the
// workspace checkout's token (see logs.SecretLines), and the names of the
// variables with a line too short to be masked.
func taskSecrets(task *api.Task) (secrets, short []string) {
	add := func(value string) int {
		lines, n := logs.SecretLines(value)
		for _, l := range lines {
			if !slices.Contains(secrets, l) {
				secrets = append(secrets, l)
			}
		}
		return n
	}
	for _, name := range task.SecretEnv {
		if add(task.Env[name]) > 0 && !slices.Contains(short, name) {
			short = append(short, name)
		}
	}
	if ws := task.Workspace; ws != nil && ws.Checkout != nil {
		add(ws.Checkout.Token)
	}
	return secrets, short
}
