package gpu

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
)

// nvmlDiscoverer discovers GPUs through an nvml.Interface: the real
// libnvidia-ml or one of go-nvml's mock servers, by the same code.
type nvmlDiscoverer struct {
	lib    nvml.Interface
	source string
	mock   bool
	// waitTimeout is how long one EventSet.Wait of Watch blocks, and so
	// how late Watch may notice that its context ended.
	waitTimeout time.Duration

	mu          sync.Mutex
	initialized bool
	closed      bool
	// closing is closed by Close; it ends running Watches, which Close
	// then waits for (watches) before shutting NVML down.
	closing chan struct{}
	watches sync.WaitGroup
}

// defaultWaitTimeout is the EventSet.Wait timeout of Watch.
const defaultWaitTimeout = time.Second

// NewNVML returns a Discoverer over lib; it also implements Watcher and
// Sampler. source and mock are copied into every Inventory. lib.Init is
// called on the first Discover, Watch or Sample (and retried by the next
// one if it failed); Close calls lib.Shutdown if Init succeeded.
func NewNVML(lib nvml.Interface, source string, mock bool) Discoverer {
	return newNVML(lib, source, mock)
}

func newNVML(lib nvml.Interface, source string, mock bool) *nvmlDiscoverer {
	return &nvmlDiscoverer{
		lib:         lib,
		source:      source,
		mock:        mock,
		waitTimeout: defaultWaitTimeout,
		closing:     make(chan struct{}),
	}
}

// start initialises NVML now instead of on the first Discover.
func (n *nvmlDiscoverer) start() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.initLocked()
}

func (n *nvmlDiscoverer) initLocked() error {
	if n.closed {
		return errors.New("gpu: discoverer is closed")
	}
	if n.initialized {
		return nil
	}
	ret := n.lib.Init()
	switch ret {
	case nvml.SUCCESS:
		n.initialized = true
		return nil
	case nvml.ERROR_LIBRARY_NOT_FOUND, nvml.ERROR_DRIVER_NOT_LOADED:
		return fmt.Errorf("%w: %w", callError("Init", ret), ErrNoDriver)
	default:
		return callError("Init", ret)
	}
}

// Close ends running Watches, waits for them to return and shuts NVML
// down. It may be called more than once.
func (n *nvmlDiscoverer) Close() error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.closed = true
	close(n.closing)
	n.mu.Unlock()

	n.watches.Wait()
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.initialized {
		return nil
	}
	if ret := n.lib.Shutdown(); ret != nvml.SUCCESS {
		return callError("Shutdown", ret)
	}
	return nil
}

// Discover lists the GPUs NVML sees now.
func (n *nvmlDiscoverer) Discover() (Inventory, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := n.initLocked(); err != nil {
		return Inventory{}, err
	}

	driver, ret := n.lib.SystemGetDriverVersion()
	if ret != nvml.SUCCESS {
		return Inventory{}, callError("SystemGetDriverVersion", ret)
	}
	cuda, ret := n.lib.SystemGetCudaDriverVersion()
	if ret != nvml.SUCCESS {
		return Inventory{}, callError("SystemGetCudaDriverVersion", ret)
	}
	count, ret := n.lib.DeviceGetCount()
	if ret != nvml.SUCCESS {
		return Inventory{}, callError("DeviceGetCount", ret)
	}

	handles := make([]nvml.Device, count)
	devices := make([]Device, count)
	for i := range count {
		h, ret := n.lib.DeviceGetHandleByIndex(i)
		if ret != nvml.SUCCESS {
			return Inventory{}, fmt.Errorf("gpu %d: %w", i, callError("DeviceGetHandleByIndex", ret))
		}
		d, err := describe(i, h)
		if err != nil {
			return Inventory{}, fmt.Errorf("gpu %d: %w", i, err)
		}
		handles[i], devices[i] = h, d
	}

	byBus := make(map[string]int, count)
	for _, d := range devices {
		if d.PCIBusID != "" {
			byBus[canonicalBusID(d.PCIBusID)] = d.Index
		}
	}
	for i, h := range handles {
		peers, err := nvlinkPeers(i, h, byBus)
		if err != nil {
			return Inventory{}, fmt.Errorf("gpu %d: %w", i, err)
		}
		devices[i].NVLinkPeers = peers
	}

	return Inventory{
		Source:        n.source,
		Mock:          n.mock,
		DriverVersion: driver,
		CUDAVersion:   cudaVersion(cuda),
		Devices:       devices,
	}, nil
}

// describe reads the per-GPU attributes of the GPU at NVML index i.
func describe(i int, h nvml.Device) (Device, error) {
	uuid, ret := h.GetUUID()
	if ret != nvml.SUCCESS {
		return Device{}, callError("Device.GetUUID", ret)
	}
	name, ret := h.GetName()
	if ret != nvml.SUCCESS {
		return Device{}, callError("Device.GetName", ret)
	}
	mem, ret := h.GetMemoryInfo()
	if ret != nvml.SUCCESS {
		return Device{}, callError("Device.GetMemoryInfo", ret)
	}
	pci, ret := h.GetPciInfo()
	if ret != nvml.SUCCESS {
		return Device{}, callError("Device.GetPciInfo", ret)
	}
	mig, _, ret := h.GetMigMode()
	switch ret {
	case nvml.SUCCESS:
	case nvml.ERROR_NOT_SUPPORTED:
		mig = nvml.DEVICE_MIG_DISABLE
	default:
		return Device{}, callError("Device.GetMigMode", ret)
	}
	return Device{
		Index:       i,
		UUID:        uuid,
		Model:       name,
		MemoryBytes: int64(mem.Total),
		PCIBusID:    busID(pci),
		MIGEnabled:  mig == nvml.DEVICE_MIG_ENABLE,
		Healthy:     true,
	}, nil
}

// callError names the failed NVML call and wraps its return code, so callers
// can test for one with errors.Is(err, nvml.ERROR_...).
func callError(call string, ret nvml.Return) error {
	return fmt.Errorf("nvml %s: %w", call, ret)
}

// cudaVersion formats NVML's CUDA driver version (12040) as "12.4".
func cudaVersion(v int) string {
	return fmt.Sprintf("%d.%d", v/1000, v%1000/10)
}
