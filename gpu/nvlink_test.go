package gpu

import (
	"errors"
	"fmt"
	"testing"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/dgxa100"
	"github.com/google/go-cmp/cmp"
)

// a100Links is how many NVLinks an A100 has; NVML answers
// ERROR_INVALID_ARGUMENT for link numbers from here to NVLINK_MAX_LINKS.
const a100Links = 12

// nvswitchBus is a PCI bus ID that is no GPU of the mock server.
const nvswitchBus = "0000:c4:00.0"

// mockBus is the bus ID that dgxa100 gives GPU i.
func mockBus(i int) string { return fmt.Sprintf("0000:%02x:00.0", i) }

// pciInfo is what NVML reports for the device at id; legacy fills only the
// old 16-byte field, in its 4-digit-domain spelling.
func pciInfo(id string, legacy bool) nvml.PciInfo {
	var pci nvml.PciInfo
	if legacy {
		copy(pci.BusIdLegacy[:], id)
		return pci
	}
	fillBusID(&pci, id)
	return pci
}

// wireLinks gives GPU dev the NVLinks in remotes: link l ends at the device
// with bus ID remotes[l], or is down when remotes[l] is "".
func wireLinks(dev *dgxa100.Device, remotes []string, legacy bool) {
	dev.GetNvLinkStateFunc = func(link int) (nvml.EnableState, nvml.Return) {
		switch {
		case link >= a100Links:
			return nvml.FEATURE_DISABLED, nvml.ERROR_INVALID_ARGUMENT
		case link >= len(remotes) || remotes[link] == "":
			return nvml.FEATURE_DISABLED, nvml.SUCCESS
		}
		return nvml.FEATURE_ENABLED, nvml.SUCCESS
	}
	dev.GetNvLinkRemotePciInfoFunc = func(link int) (nvml.PciInfo, nvml.Return) {
		if link >= len(remotes) || remotes[link] == "" {
			return nvml.PciInfo{}, nvml.ERROR_INVALID_ARGUMENT
		}
		return pciInfo(remotes[link], legacy), nvml.SUCCESS
	}
}

// twoDomains links each GPU to the three others of its half: 0-3 and 4-7.
// Link 3 is down and link 4 goes to an NVSwitch.
func twoDomains(s *dgxa100.Server, legacy bool) {
	for i := range 8 {
		base := i / 4 * 4
		var remotes []string
		for p := base; p < base+4; p++ {
			if p != i {
				remotes = append(remotes, mockBus(p))
			}
		}
		remotes = append(remotes, "", nvswitchBus)
		wireLinks(mockDevice(s, i), remotes, legacy)
	}
}

func TestNVLinkPeers(t *testing.T) {
	halves := [][]int{{1, 2, 3}, {0, 2, 3}, {0, 1, 3}, {0, 1, 2}, {5, 6, 7}, {4, 6, 7}, {4, 5, 7}, {4, 5, 6}}
	tests := []struct {
		name string
		wire func(*dgxa100.Server)
		want [][]int
	}{
		{
			name: "no NVLink support",
			wire: func(*dgxa100.Server) {},
			want: make([][]int, 8),
		},
		{
			name: "two domains of four",
			wire: func(s *dgxa100.Server) { twoDomains(s, false) },
			want: halves,
		},
		{
			name: "two domains, remote bus IDs in legacy spelling",
			wire: func(s *dgxa100.Server) { twoDomains(s, true) },
			want: halves,
		},
		{
			name: "every link to an NVSwitch",
			wire: func(s *dgxa100.Server) {
				for i := range 8 {
					wireLinks(mockDevice(s, i), []string{nvswitchBus, nvswitchBus}, false)
				}
			},
			want: make([][]int, 8),
		},
		{
			name: "bonded links to one peer count once",
			wire: func(s *dgxa100.Server) {
				wireLinks(mockDevice(s, 0), []string{mockBus(7), mockBus(7), mockBus(7)}, false)
				wireLinks(mockDevice(s, 7), []string{mockBus(0), mockBus(0), mockBus(0)}, false)
			},
			want: [][]int{{7}, nil, nil, nil, nil, nil, nil, {0}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			server := newMockDGXA100()
			tt.wire(server)
			inv, err := discover(t, server)
			if err != nil {
				t.Fatalf("Discover: %v", err)
			}
			var got [][]int
			for _, d := range inv.Devices {
				got = append(got, d.NVLinkPeers)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("NVLink peers by index (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNVLinkErrors(t *testing.T) {
	tests := []struct {
		name string
		wire func(*dgxa100.Device)
		want string
	}{
		{
			name: "link state",
			wire: func(d *dgxa100.Device) {
				d.GetNvLinkStateFunc = func(int) (nvml.EnableState, nvml.Return) {
					return nvml.FEATURE_DISABLED, nvml.ERROR_UNKNOWN
				}
			},
			want: "gpu 2: nvml Device.GetNvLinkState(link 0): ERROR_UNKNOWN",
		},
		{
			name: "remote PCI info",
			wire: func(d *dgxa100.Device) {
				wireLinks(d, []string{mockBus(1)}, false)
				d.GetNvLinkRemotePciInfoFunc = func(int) (nvml.PciInfo, nvml.Return) {
					return nvml.PciInfo{}, nvml.ERROR_UNKNOWN
				}
			},
			want: "gpu 2: nvml Device.GetNvLinkRemotePciInfo(link 0): ERROR_UNKNOWN",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			server := newMockDGXA100()
			tt.wire(mockDevice(server, 2))
			_, err := discover(t, server)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("Discover error = %v, want %q", err, tt.want)
			}
			if !errors.Is(err, nvml.ERROR_UNKNOWN) {
				t.Errorf("errors.Is(%v, ERROR_UNKNOWN) = false", err)
			}
		})
	}
}

func TestCanonicalBusID(t *testing.T) {
	tests := map[string]string{
		"00000000:07:00.0": "0000:07:00.0",
		"0000:07:00.0":     "0000:07:00.0",
		"00000000:C4:00.0": "0000:c4:00.0",
		"0001:1A:02.3":     "0001:1a:02.3",
		"not-a-bus-ID":     "not-a-bus-id",
	}
	for in, want := range tests {
		if got := canonicalBusID(in); got != want {
			t.Errorf("canonicalBusID(%q) = %q, want %q", in, got, want)
		}
	}
}
