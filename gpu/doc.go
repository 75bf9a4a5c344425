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
// Health: Discover reports every GPU it finds as Healthy. Discoverers that
// also implement Watcher (all that Open returns) report the GPUs that turn
// unhealthy: the NVML one watches XID errors through an NVML event set and
// reports each GPU at most once a minute, for the XIDs that Critical
// accepts (a program's own faults, such as XID 13 or 31, are ignored). A
// GPU never turns healthy again here; recovering it is an operator's
// decision, recorded by the control plane.
//
// Metrics: Discoverers that implement Sampler (all that Open returns) read
// each GPU's utilization and memory use; a value the driver does not
// support is left nil.
//
// MIG-enabled GPUs are reported with MIGEnabled set; their MIG instances are
// neither discovered nor scheduled.
//
// The mock:dgxa100 source completes go-nvml's mock where it lacks calls (see
// newMockDGXA100): its event set never delivers an event and it does not
// support utilization. NewScriptedMock is the same mock with an event set
// that delivers XIDs a test sends, for tests of other packages.
package gpu
