package gpu

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/dgxa100"
	"github.com/google/go-cmp/cmp"
)

// mockDevice returns GPU i of server for configuring.
func mockDevice(server *dgxa100.Server, i int) *dgxa100.Device {
	return server.Devices[i].(*dgxa100.Device)
}

func discover(t *testing.T, server *dgxa100.Server) (Inventory, error) {
	t.Helper()
	d := NewNVML(server, SourceMockDGXA100, true)
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return d.Discover()
}

func TestDiscoverDGXA100(t *testing.T) {
	server := newMockDGXA100()
	got, err := discover(t, server)
	if err != nil {
		t.Fatalf("Discover: %v", err)
	}

	want := Inventory{
		Source:        "mock:dgxa100",
		Mock:          true,
		DriverVersion: "550.54.15",
		CUDAVersion:   "12.4",
	}
	for i := range 8 {
		want.Devices = append(want.Devices, Device{
			Index:       i,
			UUID:        mockDevice(server, i).UUID,
			Model:       "Mock NVIDIA A100-SXM4-40GB",
			MemoryBytes: 40 << 30,
			PCIBusID:    fmt.Sprintf("00000000:%02x:00.0", i),
			Healthy:     true,
		})
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Discover mismatch (-want +got):\n%s", diff)
	}

	seen := map[string]bool{}
	for _, d := range got.Devices {
		if !strings.HasPrefix(d.UUID, "GPU-") || seen[d.UUID] {
			t.Errorf("gpu %d: UUID %q is empty, malformed or repeated", d.Index, d.UUID)
		}
		seen[d.UUID] = true
		if !strings.Contains(d.Model, "A100") {
			t.Errorf("gpu %d: model %q does not name an A100", d.Index, d.Model)
		}
	}
}

func TestDiscoverMIGMode(t *testing.T) {
	server := newMockDGXA100()
	if ret, _ := mockDevice(server, 1).SetMigMode(nvml.DEVICE_MIG_ENABLE); ret != nvml.SUCCESS {
		t.Fatalf("SetMigMode: %v", ret)
	}
	mockDevice(server, 2).GetMigModeFunc = func() (int, int, nvml.Return) {
		return 0, 0, nvml.ERROR_NOT_SUPPORTED
	}
	inv, err := discover(t, server)
	if err != nil {
		t.Fatalf("Discover: %v", err)
	}
	var got []bool
	for _, d := range inv.Devices {
		got = append(got, d.MIGEnabled)
	}
	want := []bool{false, true, false, false, false, false, false, false}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("MIGEnabled by index (-want +got):\n%s", diff)
	}
}

func TestDiscoverErrors(t *testing.T) {
	tests := []struct {
		name      string
		breakMock func(*dgxa100.Server)
		want      string
		isRet     nvml.Return
	}{
		{
			name: "memory info of one GPU",
			breakMock: func(s *dgxa100.Server) {
				mockDevice(s, 3).GetMemoryInfoFunc = func() (nvml.Memory, nvml.Return) {
					return nvml.Memory{}, nvml.ERROR_UNKNOWN
				}
			},
			want:  "gpu 3: nvml Device.GetMemoryInfo: ERROR_UNKNOWN",
			isRet: nvml.ERROR_UNKNOWN,
		},
		{
			name: "GPU lost while reading its UUID",
			breakMock: func(s *dgxa100.Server) {
				mockDevice(s, 5).GetUUIDFunc = func() (string, nvml.Return) { return "", nvml.ERROR_GPU_IS_LOST }
			},
			want:  "gpu 5: nvml Device.GetUUID: ERROR_GPU_IS_LOST",
			isRet: nvml.ERROR_GPU_IS_LOST,
		},
		{
			name: "MIG mode fails other than not supported",
			breakMock: func(s *dgxa100.Server) {
				mockDevice(s, 0).GetMigModeFunc = func() (int, int, nvml.Return) { return 0, 0, nvml.ERROR_NO_PERMISSION }
			},
			want:  "gpu 0: nvml Device.GetMigMode: ERROR_NO_PERMISSION",
			isRet: nvml.ERROR_NO_PERMISSION,
		},
		{
			name: "handle by index",
			breakMock: func(s *dgxa100.Server) {
				s.DeviceGetHandleByIndexFunc = func(int) (nvml.Device, nvml.Return) { return nil, nvml.ERROR_INVALID_ARGUMENT }
			},
			want:  "gpu 0: nvml DeviceGetHandleByIndex: ERROR_INVALID_ARGUMENT",
			isRet: nvml.ERROR_INVALID_ARGUMENT,
		},
		{
			name: "driver version",
			breakMock: func(s *dgxa100.Server) {
				s.SystemGetDriverVersionFunc = func() (string, nvml.Return) { return "", nvml.ERROR_UNINITIALIZED }
			},
			want:  "nvml SystemGetDriverVersion: ERROR_UNINITIALIZED",
			isRet: nvml.ERROR_UNINITIALIZED,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			server := newMockDGXA100()
			tt.breakMock(server)
			inv, err := discover(t, server)
			if err == nil {
				t.Fatalf("Discover succeeded with %d GPUs, want error %q", len(inv.Devices), tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("Discover error = %q, want %q", err, tt.want)
			}
			if !errors.Is(err, tt.isRet) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.isRet)
			}
			if diff := cmp.Diff(Inventory{}, inv); diff != "" {
				t.Errorf("failed Discover returned a partial inventory:\n%s", diff)
			}
		})
	}
}

func TestInitOnceAndShutdown(t *testing.T) {
	server := newMockDGXA100()
	d := NewNVML(server, SourceMockDGXA100, true)
	if n := len(server.InitCalls()); n != 0 {
		t.Fatalf("NewNVML called Init %d times, want lazily", n)
	}
	for range 3 {
		if _, err := d.Discover(); err != nil {
			t.Fatalf("Discover: %v", err)
		}
	}
	if n := len(server.InitCalls()); n != 1 {
		t.Errorf("Init called %d times over 3 discoveries, want 1", n)
	}
	for range 2 {
		if err := d.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
	}
	if n := len(server.ShutdownCalls()); n != 1 {
		t.Errorf("Shutdown called %d times over 2 Closes, want 1", n)
	}
	if _, err := d.Discover(); err == nil {
		t.Error("Discover after Close succeeded, want error")
	}
}

func TestInitFailure(t *testing.T) {
	tests := []struct {
		ret      nvml.Return
		noDriver bool
	}{
		{nvml.ERROR_LIBRARY_NOT_FOUND, true},
		{nvml.ERROR_DRIVER_NOT_LOADED, true},
		{nvml.ERROR_NO_PERMISSION, false},
	}
	for _, tt := range tests {
		t.Run(tt.ret.Error(), func(t *testing.T) {
			server := newMockDGXA100()
			server.InitFunc = func() nvml.Return { return tt.ret }
			server.ShutdownFunc = func() nvml.Return {
				t.Error("Shutdown called although Init failed")
				return nvml.SUCCESS
			}
			d := NewNVML(server, SourceNVML, false)
			_, err := d.Discover()
			if err == nil {
				t.Fatal("Discover succeeded, want error")
			}
			if !strings.HasPrefix(err.Error(), "nvml Init: "+tt.ret.Error()) {
				t.Errorf("error %q does not name the call and its return code", err)
			}
			if got := errors.Is(err, ErrNoDriver); got != tt.noDriver {
				t.Errorf("errors.Is(%q, ErrNoDriver) = %v, want %v", err, got, tt.noDriver)
			}
			if err := d.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
	}
}

func TestCUDAVersion(t *testing.T) {
	for v, want := range map[int]string{12040: "12.4", 11080: "11.8", 12000: "12.0", 13010: "13.1"} {
		if got := cudaVersion(v); got != want {
			t.Errorf("cudaVersion(%d) = %q, want %q", v, got, want)
		}
	}
}
