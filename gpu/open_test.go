package gpu

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/dgxa100"
	"github.com/google/go-cmp/cmp"
)

func TestOpenUnknown(t *testing.T) {
	d, err := Open("bogus")
	if d != nil {
		t.Errorf("Open(bogus) returned a Discoverer")
	}
	want := `gpu: unknown --gpus "bogus": want one of nvml, mock:dgxa100, none`
	if err == nil || err.Error() != want {
		t.Errorf("Open(bogus) error = %v, want %q", err, want)
	}
}

func TestOpenNone(t *testing.T) {
	d, err := Open("none")
	if err != nil {
		t.Fatalf("Open(none): %v", err)
	}
	defer d.Close()
	inv, err := d.Discover()
	if err != nil {
		t.Fatalf("Discover: %v", err)
	}
	if diff := cmp.Diff(Inventory{Source: "none"}, inv); diff != "" {
		t.Errorf("Discover mismatch (-want +got):\n%s", diff)
	}
}

func TestOpenMock(t *testing.T) {
	d, err := Open("mock:dgxa100")
	if err != nil {
		t.Fatalf("Open(mock:dgxa100): %v", err)
	}
	inv, err := d.Discover()
	if err != nil {
		t.Fatalf("Discover: %v", err)
	}
	if err := d.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if !inv.Mock || inv.Source != "mock:dgxa100" || len(inv.Devices) != 8 {
		t.Errorf("got source %q, mock %v, %d GPUs; want mock:dgxa100, true, 8", inv.Source, inv.Mock, len(inv.Devices))
	}
	for _, g := range inv.API() {
		if !g.Mock {
			t.Errorf("api.GPU %d is not marked Mock", g.Index)
		}
	}
}

// TestOpenNVML runs the real-driver path. On hosts without an NVIDIA driver
// (every CI machine) it must fail cleanly with ErrNoDriver; on a GPU host it
// must discover at least one real GPU.
func TestOpenNVML(t *testing.T) {
	d, err := Open("nvml")
	if err != nil {
		if !errors.Is(err, ErrNoDriver) {
			t.Fatalf("Open(nvml) error %q does not wrap ErrNoDriver", err)
		}
		if d != nil {
			t.Error("Open(nvml) returned a Discoverer along with its error")
		}
		t.Logf("no driver, as expected here: %v", err)
		return
	}
	defer d.Close()
	inv, err := d.Discover()
	if err != nil {
		t.Fatalf("Discover on a host with NVML: %v", err)
	}
	if inv.Mock || inv.Source != "nvml" || len(inv.Devices) == 0 {
		t.Errorf("got source %q, mock %v, %d GPUs; want nvml, false, at least 1", inv.Source, inv.Mock, len(inv.Devices))
	}
	t.Logf("NVML host: %+v", inv)

	samples, err := d.(Sampler).Sample()
	if err != nil {
		t.Fatalf("Sample on a host with NVML: %v", err)
	}
	if len(samples) != len(inv.Devices) {
		t.Errorf("Sample returned %d samples for %d GPUs", len(samples), len(inv.Devices))
	}
	for _, s := range samples {
		util, used := "n/a", "n/a"
		if s.UtilizationPercent != nil {
			util = fmt.Sprint(*s.UtilizationPercent, "%")
		}
		if s.MemoryUsedBytes != nil {
			used = fmt.Sprint(*s.MemoryUsedBytes)
		}
		t.Logf("gpu %d %s: utilization %s, memory %s of %d bytes", s.Index, s.UUID, util, used, s.MemoryTotalBytes)
		if s.UUID != inv.Devices[s.Index].UUID {
			t.Errorf("sample %d has UUID %s, discovery %s", s.Index, s.UUID, inv.Devices[s.Index].UUID)
		}
	}

	// A healthy host watches quietly; a driver without events says so.
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	err = d.(Watcher).Watch(ctx, func(e HealthEvent) { t.Logf("health event on a real GPU: %+v", e) })
	switch {
	case errors.Is(err, ErrHealthNotSupported):
		t.Logf("no health events here: %v", err)
	case err != nil:
		t.Errorf("Watch on a host with NVML: %v", err)
	}
}

// TestPlainDGXA100Gaps pins down what newMockDGXA100 completes, so that a
// go-nvml upgrade that fills these gaps shows up here.
func TestPlainDGXA100Gaps(t *testing.T) {
	dev := dgxa100.New().Devices[0].(*dgxa100.Device)
	pci, ret := dev.GetPciInfo()
	if ret != nvml.SUCCESS {
		t.Fatalf("GetPciInfo: %v", ret)
	}
	if id := busID(pci); id != "" {
		t.Errorf("plain dgxa100 now reports bus ID %q; newMockDGXA100's fill-in may go", id)
	}
	if dev.GetNvLinkStateFunc != nil || dev.GetNvLinkRemotePciInfoFunc != nil {
		t.Error("plain dgxa100 now implements NVLink calls; newMockDGXA100's stubs may go")
	}
	if dgxa100.New().EventSetCreateFunc != nil || dev.RegisterEventsFunc != nil {
		t.Error("plain dgxa100 now implements events; newMockDGXA100's quiet event set may go")
	}
	if dev.GetUtilizationRatesFunc != nil {
		t.Error("plain dgxa100 now implements GetUtilizationRates; newMockDGXA100's stub may go")
	}
}
