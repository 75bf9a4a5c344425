// Package docker is the "docker" executor.Runtime: each allocation's task
// runs as one Docker container on the local engine.
//
// The translation from an allocation to a container (convert.go) is pure
// and table-tested without a daemon; docker.go is a thin layer of engine
// calls. A container is named phalanx-<alloc ID> and labelled
// phalanx.alloc_id, phalanx.job_id, phalanx.job_name, phalanx.group,
// phalanx.index and phalanx.managed=true. Task.Command replaces the image's
// ENTRYPOINT and CMD, as a Kubernetes command does; no command runs the
// image's default. Containers get an init process, a PID limit, capped
// json-file logs, no privileges and no added capabilities.
//
// Workspaces: a task whose allocation has a workspace, and for which the
// agent prepared its directory (executor.Prepared), gets that directory
// bind-mounted at the workspace's mount path (/workspace by default),
// PHALANX_WORKSPACE set to the mount path, and the mount path as its
// working directory unless Task.WorkingDir says otherwise. The bind mount
// names a path on the agent's host, so the engine must run on that host.
//
// GPUs: NVIDIA_VISIBLE_DEVICES and CUDA_VISIBLE_DEVICES always name exactly
// the allocation's GPU UUIDs (values from Task.Env are replaced), so a
// container never sees all GPUs by accident. Config.GPUMode chooses how the
// engine is asked for them: "nvidia" (a device request to the NVIDIA
// runtime hook; NVIDIA_VISIBLE_DEVICES=void with no GPUs), "cdi" (a CDI
// device request for nvidia.com/gpu=<uuid>) or "env" (only the variables,
// for engines whose default runtime is nvidia-container-runtime).
//
// Start, Stop and re-adoption:
//   - Start is idempotent by allocation ID: a Handle this Runtime already
//     returned is returned again; otherwise an existing container named
//     phalanx-<alloc ID> is adopted, so an agent that restarts finds its
//     containers still running. For an adopted running container the
//     output is followed from the moment of adoption (Since = now): the
//     caller keeps the output it copied before, and output written while no
//     agent was copying stays in the container's own json-file log only. An
//     adopted container that has exited copies nothing; one that was created
//     but never started is started and copied from its beginning.
//   - An image missing from the node is pulled once; failing that, Start
//     fails with `image "x" is not on this node and could not be pulled:
//     <cause>`.
//   - Stop is Docker's stop: SIGTERM to the container's init, which passes
//     it to the task's main process (not to the rest of its process tree),
//     then SIGKILL to every process in the container after grace (rounded
//     up to whole seconds, at least 1).
//   - Wait reports the container's exit code; Message is "OOM killed" when
//     the kernel killed it for memory, and "killed after <grace> grace" when
//     it ended with 137 after a Stop.
//   - Remove force-removes the container; logs already copied stay.
//
// List returns the allocation IDs of every Phalanx-managed container on the
// engine, running or not, for re-adoption.
package docker
