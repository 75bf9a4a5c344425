// Package gpu finds the whole GPUs of an executor host.
//
// A Discoverer returns an Inventory: the driver and CUDA versions and one
// Device per GPU with its NVML index, UUID, model, total memory, PCI bus ID,
// MIG mode and NVLink peers. The agent converts devices to api.GPU with
// Device.API and registers them with the control plane; the scheduler hands
// GPUs out whole, by UUID.
//
// Open picks the implementation from the agent's --gpus flag:
//
//	nvml          the host's NVIDIA driver (libnvidia-ml.so.1, loaded with dlopen)
//	mock:dgxa100  go-nvml's simulated 8×A100 DGX server, for demos and tests
//	none          no GPUs
//
// Both "nvml" and "mock:dgxa100" run the same code, NewNVML over an
// nvml.Interface; nothing in it asks whether the library is simulated. GPUs
// that come from a mock are marked Inventory.Mock, and api.GPU.Mock on the
// wire, so nobody mistakes a demo cluster for real hardware.
//
// Contract of the NVML discoverer:
//   - NVML is initialised on the first Discover (Open("nvml") does it at once,
//     so a host without a driver fails at start-up with ErrNoDriver) and shut
//     down by Close. A Discoverer is safe for concurrent use.
//   - A failing NVML call fails the whole discovery with an error naming the
//     call, the GPU index and NVML's error string; a partial inventory is
//     never returned.
//   - Optional attributes are the exception: when NVML answers
//     ERROR_NOT_SUPPORTED for MIG mode or NVLink, the attribute is left empty
//     (MIGEnabled false, no NVLinkPeers) and discovery goes on.
//   - NVLinkPeers lists the indices of other GPUs of this host that this GPU
//     has an active NVLink to, sorted, each once. A link whose far end is not
//     a GPU of this host (an NVSwitch, for example) adds no peer, so on
//     NVSwitch systems such as a DGX A100 or HGX H100 the list is empty.
//   - Devices are in NVML index order, which is PCI bus order. NVML indices
//     can differ from CUDA's default device order; use UUIDs to name a GPU.
//
// Health: today Healthy is true for every GPU that discovery finds. Nothing
// watches XID errors or ECC counters yet, so a GPU that has fallen off the bus
// shows up as missing from the next discovery (or makes it fail), not as
// unhealthy. MIG-enabled GPUs are reported with MIGEnabled set; their MIG
// instances are neither discovered nor scheduled.
package gpu
