package gpu

import (
	"slices"

	"github.com/phalanx-sched/phalanx/api"
)

// Device is one whole GPU as discovery sees it.
type Device struct {
	// Index is the NVML index, which is also the index that the NVIDIA
	// container toolkit and nvidia-smi use.
	Index int
	// UUID is the stable name of the GPU ("GPU-6f1c...").
	UUID string
	// Model is NVML's product name ("NVIDIA H100 80GB HBM3").
	Model string
	// MemoryBytes is the total framebuffer memory.
	MemoryBytes int64
	// PCIBusID is the bus ID as NVML reports it ("00000000:07:00.0").
	PCIBusID string
	// MIGEnabled is true when MIG mode is on; false also when the GPU does
	// not support MIG.
	MIGEnabled bool
	// NVLinkPeers holds the indices of the GPUs of this host that this one
	// has an active NVLink to, sorted.
	NVLinkPeers []int
	// Healthy is true for every GPU that Discover finds; a GPU turns
	// unhealthy through a Watcher's HealthEvent, not through discovery.
	Healthy bool
}

// Inventory is what one discovery found.
type Inventory struct {
	// Source is the --gpus choice that produced it: "nvml",
	// "mock:dgxa100" or "none".
	Source string
	// Mock is true when the GPUs are simulated by go-nvml's mock servers.
	Mock          bool
	DriverVersion string
	// CUDAVersion is the highest CUDA version the driver supports ("12.4").
	CUDAVersion string
	Devices     []Device
}

// Discoverer finds the GPUs of this host.
type Discoverer interface {
	// Discover returns the GPUs present now. It may be called many times.
	Discover() (Inventory, error)
	// Close releases the driver library. Discover must not be called after.
	Close() error
}

// API converts d to the wire type, with a copy of NVLinkPeers; mock is
// Inventory.Mock of the inventory that d came from. Unhealthy is left
// empty: why a GPU is unhealthy comes from Watch, not from d.
func (d Device) API(mock bool) api.GPU {
	return api.GPU{
		Index:       d.Index,
		UUID:        d.UUID,
		Model:       d.Model,
		MemoryBytes: d.MemoryBytes,
		PCIBusID:    d.PCIBusID,
		NVLinkPeers: slices.Clone(d.NVLinkPeers),
		Healthy:     d.Healthy,
		Mock:        mock,
	}
}

// API converts every device of inv to the wire type.
func (inv Inventory) API() []api.GPU {
	gpus := make([]api.GPU, 0, len(inv.Devices))
	for _, d := range inv.Devices {
		gpus = append(gpus, d.API(inv.Mock))
	}
	return gpus
}
