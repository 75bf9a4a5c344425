package gpu

import (
	"fmt"
	"slices"
	"strings"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
)

// nvlinkPeers returns the sorted indices of the GPUs that GPU self has an
// active NVLink to. byBus maps canonical PCI bus IDs of this host's GPUs to
// their indices; links whose far end is not among them (NVSwitches, GPUs
// NVML did not enumerate) add nothing.
//
// NVML answers ERROR_NOT_SUPPORTED on GPUs without NVLink and
// ERROR_INVALID_ARGUMENT for link numbers beyond what this GPU has; both
// mean "no link here". Any other failure fails discovery.
func nvlinkPeers(self int, h nvml.Device, byBus map[string]int) ([]int, error) {
	var peers []int
	for link := range nvml.NVLINK_MAX_LINKS {
		state, ret := h.GetNvLinkState(link)
		switch ret {
		case nvml.SUCCESS:
		case nvml.ERROR_NOT_SUPPORTED, nvml.ERROR_INVALID_ARGUMENT:
			continue
		default:
			return nil, callError(fmt.Sprintf("Device.GetNvLinkState(link %d)", link), ret)
		}
		if state != nvml.FEATURE_ENABLED {
			continue
		}
		remote, ret := h.GetNvLinkRemotePciInfo(link)
		switch ret {
		case nvml.SUCCESS:
		case nvml.ERROR_NOT_SUPPORTED:
			continue
		default:
			return nil, callError(fmt.Sprintf("Device.GetNvLinkRemotePciInfo(link %d)", link), ret)
		}
		peer, ok := byBus[canonicalBusID(busID(remote))]
		if !ok || peer == self || slices.Contains(peers, peer) {
			continue
		}
		peers = append(peers, peer)
	}
	slices.Sort(peers)
	return peers, nil
}

// busID returns the PCI bus ID NVML filled into pci: BusId, or the legacy
// 16-byte field when BusId is empty.
func busID(pci nvml.PciInfo) string {
	if id := cString(pci.BusId[:]); id != "" {
		return id
	}
	return cString(pci.BusIdLegacy[:])
}

// cString returns b up to its first NUL byte.
func cString(b []uint8) string {
	if i := slices.Index(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// canonicalBusID brings a PCI bus ID to one spelling, "dddd:bb:dd.f" in
// lower case, so that "00000000:07:00.0" (BusId) and "0000:07:00.0"
// (BusIdLegacy, sysfs) compare equal. IDs it cannot parse are only
// lower-cased.
func canonicalBusID(id string) string {
	var domain, bus, dev, fn uint32
	if n, err := fmt.Sscanf(id, "%x:%x:%x.%x", &domain, &bus, &dev, &fn); err == nil && n == 4 {
		return fmt.Sprintf("%04x:%02x:%02x.%x", domain, bus, dev, fn)
	}
	return strings.ToLower(id)
}
