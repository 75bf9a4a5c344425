package gpu

import (
	"errors"
	"testing"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/dgxa100"
	"github.com/google/go-cmp/cmp"
)

func ptr[T any](v T) *T { return &v }

func TestSample(t *testing.T) {
	server := newMockDGXA100()
	mockDevice(server, 1).GetUtilizationRatesFunc = func() (nvml.Utilization, nvml.Return) {
		return nvml.Utilization{Gpu: 37, Memory: 12}, nvml.SUCCESS
	}
	mockDevice(server, 1).GetMemoryInfoFunc = func() (nvml.Memory, nvml.Return) {
		return nvml.Memory{Total: 40 << 30, Used: 3 << 30, Free: 37 << 30}, nvml.SUCCESS
	}
	mockDevice(server, 2).GetMemoryInfoFunc = func() (nvml.Memory, nvml.Return) {
		return nvml.Memory{}, nvml.ERROR_NOT_SUPPORTED
	}
	d := newTestNVML(t, server)
	got, err := d.Sample()
	if err != nil {
		t.Fatalf("Sample: %v", err)
	}

	var want []Sample
	for i := range 8 {
		// The demo mock: no utilization, 0 of 40 GiB used.
		want = append(want, Sample{Index: i, UUID: uuidOf(server, i), MemoryUsedBytes: ptr[uint64](0), MemoryTotalBytes: 40 << 30})
	}
	want[1].UtilizationPercent = ptr[uint32](37)
	want[1].MemoryUsedBytes = ptr[uint64](3 << 30)
	want[2].MemoryUsedBytes, want[2].MemoryTotalBytes = nil, 0
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Sample (-want +got):\n%s", diff)
	}
}

func TestSampleErrors(t *testing.T) {
	tests := []struct {
		name      string
		breakMock func(*nvmlDiscoverer)
		want      string
		isRet     nvml.Return
	}{
		{
			name: "utilization",
			breakMock: func(d *nvmlDiscoverer) {
				mockDevice(d.lib.(*dgxa100.Server), 4).GetUtilizationRatesFunc = func() (nvml.Utilization, nvml.Return) {
					return nvml.Utilization{}, nvml.ERROR_UNKNOWN
				}
			},
			want:  "gpu 4: nvml Device.GetUtilizationRates: ERROR_UNKNOWN",
			isRet: nvml.ERROR_UNKNOWN,
		},
		{
			name: "memory",
			breakMock: func(d *nvmlDiscoverer) {
				mockDevice(d.lib.(*dgxa100.Server), 0).GetMemoryInfoFunc = func() (nvml.Memory, nvml.Return) {
					return nvml.Memory{}, nvml.ERROR_GPU_IS_LOST
				}
			},
			want:  "gpu 0: nvml Device.GetMemoryInfo: ERROR_GPU_IS_LOST",
			isRet: nvml.ERROR_GPU_IS_LOST,
		},
		{
			name: "closed",
			breakMock: func(d *nvmlDiscoverer) {
				if err := d.Close(); err != nil {
					t.Fatal(err)
				}
			},
			want: "gpu: discoverer is closed",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newTestNVML(t, newMockDGXA100())
			tt.breakMock(d)
			got, err := d.Sample()
			if err == nil || err.Error() != tt.want {
				t.Errorf("Sample error = %v, want %q", err, tt.want)
			}
			if tt.isRet != 0 && !errors.Is(err, tt.isRet) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.isRet)
			}
			if got != nil {
				t.Errorf("failed Sample returned %v", got)
			}
		})
	}
}

func TestSampleNone(t *testing.T) {
	d, err := Open(SourceNone)
	if err != nil {
		t.Fatal(err)
	}
	got, err := d.(Sampler).Sample()
	if err != nil || len(got) != 0 {
		t.Errorf("Sample = %v, %v; want nothing", got, err)
	}
}

func TestOpenImplementsWatcherAndSampler(t *testing.T) {
	scripted, _ := NewScriptedMock()
	defer scripted.Close()
	for _, kind := range []string{SourceMockDGXA100, SourceNone} {
		d, err := Open(kind)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := d.(Watcher); !ok {
			t.Errorf("Open(%s) is not a Watcher", kind)
		}
		if _, ok := d.(Sampler); !ok {
			t.Errorf("Open(%s) is not a Sampler", kind)
		}
		d.Close()
	}
	if _, ok := scripted.(Sampler); !ok {
		t.Error("NewScriptedMock is not a Sampler")
	}
	if _, ok := scripted.(Watcher); !ok {
		t.Error("NewScriptedMock is not a Watcher")
	}
}
