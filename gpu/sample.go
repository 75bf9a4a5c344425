package gpu

import (
	"fmt"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
)

// Sample is one GPU's utilization and memory use, where the driver gives
// them (nil when not supported).
type Sample struct {
	// Index and UUID name the GPU as Discover does.
	Index int
	UUID  string
	// UtilizationPercent is the percentage of the last sample period
	// (1/6 s to 1 s, depending on the GPU) in which a kernel ran.
	UtilizationPercent *uint32
	// MemoryUsedBytes is the framebuffer memory allocated now.
	MemoryUsedBytes *uint64
	// MemoryTotalBytes is the total framebuffer memory; 0 when the driver
	// does not report memory.
	MemoryTotalBytes uint64
}

// Sampler is implemented by discoverers that can read GPU utilization.
type Sampler interface {
	// Sample returns one Sample per GPU, in index order.
	Sample() ([]Sample, error)
}

// Sample reads the utilization and memory use of every GPU. A GPU that
// answers ERROR_NOT_SUPPORTED leaves the value unset; any other failure
// fails the whole call with an error naming the GPU and the NVML call.
func (n *nvmlDiscoverer) Sample() ([]Sample, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := n.initLocked(); err != nil {
		return nil, err
	}
	count, ret := n.lib.DeviceGetCount()
	if ret != nvml.SUCCESS {
		return nil, callError("DeviceGetCount", ret)
	}
	samples := make([]Sample, count)
	for i := range count {
		h, ret := n.lib.DeviceGetHandleByIndex(i)
		if ret != nvml.SUCCESS {
			return nil, fmt.Errorf("gpu %d: %w", i, callError("DeviceGetHandleByIndex", ret))
		}
		s, err := sample(i, h)
		if err != nil {
			return nil, fmt.Errorf("gpu %d: %w", i, err)
		}
		samples[i] = s
	}
	return samples, nil
}

// sample reads the Sample of the GPU at NVML index i.
func sample(i int, h nvml.Device) (Sample, error) {
	uuid, ret := h.GetUUID()
	if ret != nvml.SUCCESS {
		return Sample{}, callError("Device.GetUUID", ret)
	}
	s := Sample{Index: i, UUID: uuid}

	util, ret := h.GetUtilizationRates()
	switch ret {
	case nvml.SUCCESS:
		s.UtilizationPercent = &util.Gpu
	case nvml.ERROR_NOT_SUPPORTED:
	default:
		return Sample{}, callError("Device.GetUtilizationRates", ret)
	}

	mem, ret := h.GetMemoryInfo()
	switch ret {
	case nvml.SUCCESS:
		s.MemoryUsedBytes = &mem.Used
		s.MemoryTotalBytes = mem.Total
	case nvml.ERROR_NOT_SUPPORTED:
	default:
		return Sample{}, callError("Device.GetMemoryInfo", ret)
	}
	return s, nil
}
