package gpu

import (
	"errors"
	"fmt"
	"strings"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/dgxa100"
)

// The --gpus choices that Open accepts.
const (
	SourceNVML        = "nvml"
	SourceMockDGXA100 = "mock:dgxa100"
	SourceNone        = "none"
)

// Sources lists the --gpus choices that Open accepts.
func Sources() []string {
	return []string{SourceNVML, SourceMockDGXA100, SourceNone}
}

// ErrNoDriver is wrapped by the error of Open("nvml") and of Discover when
// the NVIDIA driver library cannot be loaded or the kernel driver is not
// loaded.
var ErrNoDriver = errors.New("no NVIDIA driver found (libnvidia-ml.so): run with --gpus none, or install the driver")

// Open returns the Discoverer for a --gpus choice:
//
//	"nvml"          the host's driver; NVML is initialised now, so a host
//	                without one fails here with an error wrapping ErrNoDriver
//	"mock:dgxa100"  go-nvml's simulated 8×A100 DGX; inventories are marked Mock
//	"none"          a host without GPUs
func Open(kind string) (Discoverer, error) {
	switch kind {
	case SourceNVML:
		d := &nvmlDiscoverer{lib: nvml.New(), source: SourceNVML}
		if err := d.start(); err != nil {
			return nil, fmt.Errorf("gpu: --gpus %s: %w", kind, err)
		}
		return d, nil
	case SourceMockDGXA100:
		return NewNVML(newMockDGXA100(), SourceMockDGXA100, true), nil
	case SourceNone:
		return noGPUs{}, nil
	default:
		return nil, fmt.Errorf("gpu: unknown --gpus %q: want one of %s", kind, strings.Join(Sources(), ", "))
	}
}

// noGPUs is the Discoverer of a host without GPUs.
type noGPUs struct{}

func (noGPUs) Discover() (Inventory, error) { return Inventory{Source: SourceNone}, nil }
func (noGPUs) Close() error                 { return nil }

// newMockDGXA100 returns go-nvml's dgxa100 mock server, completed where it
// falls short of what real NVML answers on a DGX A100:
//
//   - its GetPciInfo leaves the bus ID empty; here it reports the device's
//     PciBusID, as real NVML does;
//   - it does not implement GetNvLinkState or GetNvLinkRemotePciInfo, and a
//     mock method without an implementation panics; here they answer
//     ERROR_NOT_SUPPORTED, so the demo shows GPUs without NVLink peers. (On a
//     real DGX A100 every link ends at an NVSwitch, which adds no peer
//     either.)
//
// This configures the simulated hardware; Discover runs unchanged over it.
func newMockDGXA100() *dgxa100.Server {
	server := dgxa100.New()
	for _, d := range server.Devices {
		dev := d.(*dgxa100.Device)
		mockPciInfo := dev.GetPciInfoFunc
		dev.GetPciInfoFunc = func() (nvml.PciInfo, nvml.Return) {
			pci, ret := mockPciInfo()
			if ret == nvml.SUCCESS && busID(pci) == "" {
				fillBusID(&pci, dev.PciBusID)
			}
			return pci, ret
		}
		if dev.GetNvLinkStateFunc == nil {
			dev.GetNvLinkStateFunc = func(int) (nvml.EnableState, nvml.Return) {
				return nvml.FEATURE_DISABLED, nvml.ERROR_NOT_SUPPORTED
			}
		}
		if dev.GetNvLinkRemotePciInfoFunc == nil {
			dev.GetNvLinkRemotePciInfoFunc = func(int) (nvml.PciInfo, nvml.Return) {
				return nvml.PciInfo{}, nvml.ERROR_NOT_SUPPORTED
			}
		}
	}
	return server
}

// fillBusID writes id ("0000:07:00.0") into the bus ID fields of pci the way
// NVML fills them.
func fillBusID(pci *nvml.PciInfo, id string) {
	var domain, bus, dev, fn uint32
	if _, err := fmt.Sscanf(id, "%x:%x:%x.%x", &domain, &bus, &dev, &fn); err == nil {
		pci.Domain, pci.Bus, pci.Device = domain, bus, dev
		copy(pci.BusIdLegacy[:len(pci.BusIdLegacy)-1], fmt.Sprintf("%04x:%02x:%02x.%x", domain, bus, dev, fn))
		copy(pci.BusId[:len(pci.BusId)-1], fmt.Sprintf("%08x:%02x:%02x.%x", domain, bus, dev, fn))
		return
	}
	copy(pci.BusId[:len(pci.BusId)-1], id)
}
