package gpu

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/phalanx-sched/phalanx/api"
)

func TestPrint(t *testing.T) {
	tests := []struct {
		name string
		inv  Inventory
		want string
	}{
		{
			name: "real GPUs",
			inv: Inventory{
				Source: "nvml", DriverVersion: "550.90.07", CUDAVersion: "12.4",
				Devices: []Device{
					{Index: 0, UUID: "GPU-aaaa", Model: "NVIDIA H100 80GB HBM3", MemoryBytes: 81559 << 20, PCIBusID: "00000000:18:00.0", NVLinkPeers: []int{1}, Healthy: true},
					{Index: 1, UUID: "GPU-bbbb", Model: "NVIDIA H100 80GB HBM3", MemoryBytes: 81559 << 20, PCIBusID: "00000000:2A:00.0", NVLinkPeers: []int{0}},
				},
			},
			want: `GPUs from nvml, driver 550.90.07, CUDA 12.4
INDEX  UUID      MODEL                  MEMORY    PCI               NVLINK  HEALTHY
0      GPU-aaaa  NVIDIA H100 80GB HBM3  79.6 GiB  00000000:18:00.0  1       yes
1      GPU-bbbb  NVIDIA H100 80GB HBM3  79.6 GiB  00000000:2A:00.0  0       no
`,
		},
		{
			name: "mock GPU without PCI or peers",
			inv: Inventory{
				Source: "mock:dgxa100", Mock: true, DriverVersion: "550.54.15", CUDAVersion: "12.4",
				Devices: []Device{{Index: 0, UUID: "GPU-cccc", Model: "Mock", MemoryBytes: 40 << 30, Healthy: true}},
			},
			want: `GPUs from mock:dgxa100 (mock GPUs), driver 550.54.15, CUDA 12.4
INDEX  UUID      MODEL  MEMORY  PCI  NVLINK  HEALTHY
0      GPU-cccc  Mock   40 GiB  -    -       yes
`,
		},
		{
			name: "no GPUs",
			inv:  Inventory{Source: "none"},
			want: "GPUs from none\nno GPUs\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			if err := Print(&b, tt.inv); err != nil {
				t.Fatalf("Print: %v", err)
			}
			if diff := cmp.Diff(tt.want, b.String()); diff != "" {
				t.Errorf("Print output (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPrintDGXA100(t *testing.T) {
	inv, err := discover(t, newMockDGXA100())
	if err != nil {
		t.Fatalf("Discover: %v", err)
	}
	var b strings.Builder
	if err := Print(&b, inv); err != nil {
		t.Fatalf("Print: %v", err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 10 {
		t.Fatalf("Print wrote %d lines, want header, column names and 8 rows:\n%s", len(lines), b.String())
	}
	if want := "GPUs from mock:dgxa100 (mock GPUs), driver 550.54.15, CUDA 12.4"; lines[0] != want {
		t.Errorf("header = %q, want %q", lines[0], want)
	}
	if got, want := strings.Fields(lines[1]), []string{"INDEX", "UUID", "MODEL", "MEMORY", "PCI", "NVLINK", "HEALTHY"}; !cmp.Equal(got, want) {
		t.Errorf("column names = %q, want %q", got, want)
	}
	for i, d := range inv.Devices {
		row := lines[2+i]
		if !strings.HasPrefix(row, string(rune('0'+i))+" ") || !strings.Contains(row, d.UUID) || !strings.Contains(row, "40 GiB") {
			t.Errorf("row %d = %q, want index, UUID %s and 40 GiB", i, row, d.UUID)
		}
	}
}

func TestDeviceAPI(t *testing.T) {
	d := Device{Index: 3, UUID: "GPU-x", Model: "NVIDIA A100-SXM4-80GB", MemoryBytes: 80 << 30, PCIBusID: "00000000:47:00.0", MIGEnabled: true, NVLinkPeers: []int{1, 2}, Healthy: true}
	want := api.GPU{Index: 3, UUID: "GPU-x", Model: "NVIDIA A100-SXM4-80GB", MemoryBytes: 80 << 30, PCIBusID: "00000000:47:00.0", NVLinkPeers: []int{1, 2}, Healthy: true, Mock: true}
	got := d.API(true)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("API mismatch (-want +got):\n%s", diff)
	}
	got.NVLinkPeers[0] = 7
	if d.NVLinkPeers[0] != 1 {
		t.Error("API shares NVLinkPeers with the Device")
	}
	inv := Inventory{Devices: []Device{d}}
	want.Mock = false
	if diff := cmp.Diff([]api.GPU{want}, inv.API()); diff != "" {
		t.Errorf("Inventory.API mismatch (-want +got):\n%s", diff)
	}
}
