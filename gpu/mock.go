package gpu

import (
	"fmt"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/dgxa100"
)

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
//   - it does not implement EventSetCreate or RegisterEvents; here every
//     GPU registers for events with an event set that never delivers one:
//     its Wait sleeps for the timeout it is given and answers ERROR_TIMEOUT,
//     so Watch runs and reports nothing (NewScriptedMock scripts XIDs);
//   - it does not implement GetUtilizationRates; here it answers
//     ERROR_NOT_SUPPORTED, so samples carry no utilization. (Memory use is
//     the mock's: 0 of 40 GiB.)
//
// This configures the simulated hardware; Discover, Watch and Sample run
// unchanged over it.
func newMockDGXA100() *dgxa100.Server {
	server := dgxa100.New()
	server.EventSetCreateFunc = func() (nvml.EventSet, nvml.Return) {
		return quietEventSet(), nvml.SUCCESS
	}
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
		if dev.RegisterEventsFunc == nil {
			dev.RegisterEventsFunc = func(_ uint64, set nvml.EventSet) nvml.Return {
				if set == nil {
					return nvml.ERROR_INVALID_ARGUMENT
				}
				return nvml.SUCCESS
			}
		}
		if dev.GetUtilizationRatesFunc == nil {
			dev.GetUtilizationRatesFunc = func() (nvml.Utilization, nvml.Return) {
				return nvml.Utilization{}, nvml.ERROR_NOT_SUPPORTED
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

// quietEventSet returns a mock event set that never delivers an event.
func quietEventSet() *mock.EventSet {
	return &mock.EventSet{
		WaitFunc: func(timeoutMs uint32) (nvml.EventData, nvml.Return) {
			time.Sleep(time.Duration(timeoutMs) * time.Millisecond)
			return nvml.EventData{}, nvml.ERROR_TIMEOUT
		},
		FreeFunc: func() nvml.Return { return nvml.SUCCESS },
	}
}

// XIDInjection is an XID that NewScriptedMock's GPUs raise: XID on the GPU
// at Index.
type XIDInjection struct {
	Index int
	XID   uint64
}

// scriptedWaitTimeout is the EventSet.Wait timeout of a scripted mock's
// Watch, short so that tests that cancel a Watch do not wait for it.
const scriptedWaitTimeout = 50 * time.Millisecond

// NewScriptedMock returns a mock:dgxa100-style discoverer (Mock true,
// Source "mock:dgxa100") whose health watch reports the XIDs sent on the
// returned channel: each value is (GPU index, XID). It is a test hook for
// packages that need GPUs to fail.
//
// The XIDs travel the same way real ones do: the mock event set's Wait
// delivers them to the NVML discoverer's Watch, which decides what to
// report (critical XIDs only, each GPU once per Watch). An Index outside
// 0..7 raises an XID that names no GPU, which Watch reports for every GPU.
// The channel buffers 64 values, so they may be sent before Watch starts;
// run one Watch at a time, as events go to whichever Watch receives them.
// Closing the channel stops the events. The discoverer also implements
// Watcher and Sampler; its Watch notices a cancelled context within 50 ms.
func NewScriptedMock() (Discoverer, chan<- XIDInjection) {
	server := newMockDGXA100()
	xids := make(chan XIDInjection, 64)
	server.EventSetCreateFunc = func() (nvml.EventSet, nvml.Return) {
		return scriptedEventSet(server, xids), nvml.SUCCESS
	}
	d := newNVML(server, SourceMockDGXA100, true)
	d.waitTimeout = scriptedWaitTimeout
	return d, xids
}

// scriptedEventSet returns a mock event set whose Wait delivers the XIDs
// received on xids as events of server's GPUs.
func scriptedEventSet(server *dgxa100.Server, xids <-chan XIDInjection) *mock.EventSet {
	return &mock.EventSet{
		WaitFunc: func(timeoutMs uint32) (nvml.EventData, nvml.Return) {
			timer := time.NewTimer(time.Duration(timeoutMs) * time.Millisecond)
			defer timer.Stop()
			select {
			case x, ok := <-xids:
				if !ok {
					<-timer.C
					return nvml.EventData{}, nvml.ERROR_TIMEOUT
				}
				e := nvml.EventData{EventType: nvml.EventTypeXidCriticalError, EventData: x.XID}
				if x.Index >= 0 && x.Index < len(server.Devices) {
					e.Device = server.Devices[x.Index]
				}
				return e, nvml.SUCCESS
			case <-timer.C:
				return nvml.EventData{}, nvml.ERROR_TIMEOUT
			}
		},
		FreeFunc: func() nvml.Return { return nvml.SUCCESS },
	}
}
