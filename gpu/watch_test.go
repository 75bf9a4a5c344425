package gpu

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/dgxa100"
	"github.com/google/go-cmp/cmp"
)

// waitResult is one answer of a scripted EventSet.Wait.
type waitResult struct {
	event nvml.EventData
	ret   nvml.Return
}

// xidOn is an XID event of GPU i of server.
func xidOn(server *dgxa100.Server, i int, xid uint64) waitResult {
	return waitResult{
		event: nvml.EventData{Device: server.Devices[i], EventType: nvml.EventTypeXidCriticalError, EventData: xid},
		ret:   nvml.SUCCESS,
	}
}

// scriptEvents makes server's event sets answer Wait with script, then
// ERROR_TIMEOUT after a short sleep; drained is closed when the script has
// been consumed. It returns the event set, for counting calls.
func scriptEvents(server *dgxa100.Server, script ...waitResult) (set *mock.EventSet, drained <-chan struct{}) {
	done := make(chan struct{})
	var once sync.Once
	var mu sync.Mutex
	set = &mock.EventSet{
		WaitFunc: func(uint32) (nvml.EventData, nvml.Return) {
			mu.Lock()
			defer mu.Unlock()
			if len(script) == 0 {
				once.Do(func() { close(done) })
				time.Sleep(2 * time.Millisecond)
				return nvml.EventData{}, nvml.ERROR_TIMEOUT
			}
			r := script[0]
			script = script[1:]
			return r.event, r.ret
		},
		FreeFunc: func() nvml.Return { return nvml.SUCCESS },
	}
	server.EventSetCreateFunc = func() (nvml.EventSet, nvml.Return) { return set, nvml.SUCCESS }
	return set, done
}

// watchResult is what a Watch run in the background produced.
type watchResult struct {
	events []HealthEvent
	err    error
}

// startWatch runs d.Watch in the background. Cancelling the returned
// function's context and receiving from the channel gives its result.
func startWatch(t *testing.T, w Watcher) (cancel context.CancelFunc, result <-chan watchResult) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	out := make(chan watchResult, 1)
	go func() {
		var r watchResult
		r.err = w.Watch(ctx, func(e HealthEvent) { r.events = append(r.events, e) })
		out <- r
	}()
	return cancel, out
}

// await receives a Watch result, failing the test if it takes over a second.
func await(t *testing.T, result <-chan watchResult) watchResult {
	t.Helper()
	select {
	case r := <-result:
		return r
	case <-time.After(time.Second):
		t.Fatal("Watch did not return within 1s")
		return watchResult{}
	}
}

func newTestNVML(t *testing.T, server *dgxa100.Server) *nvmlDiscoverer {
	t.Helper()
	d := newNVML(server, SourceMockDGXA100, true)
	d.waitTimeout = 10 * time.Millisecond
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return d
}

func uuidOf(server *dgxa100.Server, i int) string { return mockDevice(server, i).UUID }

func TestWatchReportsCriticalXIDOncePerGPU(t *testing.T) {
	server := newMockDGXA100()
	set, drained := scriptEvents(server,
		xidOn(server, 2, 13),
		xidOn(server, 3, 79),
		xidOn(server, 3, 79),
		// Events other than XIDs are ignored.
		waitResult{event: nvml.EventData{Device: server.Devices[4], EventType: nvml.EventTypeDoubleBitEccError}, ret: nvml.SUCCESS},
	)
	d := newTestNVML(t, server)
	cancel, result := startWatch(t, d)
	<-drained
	cancel()
	got := await(t, result)

	if got.err != nil {
		t.Errorf("Watch: %v", got.err)
	}
	want := []HealthEvent{{Index: 3, UUID: uuidOf(server, 3), XID: 79, Reason: "XID 79 (GPU has fallen off the bus)"}}
	if diff := cmp.Diff(want, got.events); diff != "" {
		t.Errorf("reports (-want +got):\n%s", diff)
	}
	for i := range 8 {
		calls := mockDevice(server, i).RegisterEventsCalls()
		if len(calls) != 1 || calls[0].V != nvml.EventTypeXidCriticalError || calls[0].EventSet != set {
			t.Errorf("gpu %d: RegisterEvents calls %+v, want one for XID events on the set", i, calls)
		}
	}
	if n := len(set.FreeCalls()); n != 1 {
		t.Errorf("EventSet.Free called %d times, want 1", n)
	}
	if calls := set.WaitCalls(); len(calls) == 0 || calls[0].V != 10 {
		t.Errorf("EventSet.Wait calls %v, want a timeout of 10 ms", calls)
	}
}

func TestWatchIdentifiesGPU(t *testing.T) {
	server := newMockDGXA100()
	// A handle that is not the one Discover saw, but answers GPU 5's UUID.
	other := &mock.Device{GetUUIDFunc: func() (string, nvml.Return) { return uuidOf(server, 5), nvml.SUCCESS }}
	// A device that cannot say who it is.
	lost := &mock.Device{GetUUIDFunc: func() (string, nvml.Return) { return "", nvml.ERROR_GPU_IS_LOST }}
	xid := func(dev nvml.Device, xid uint64) waitResult {
		return waitResult{event: nvml.EventData{Device: dev, EventType: nvml.EventTypeXidCriticalError, EventData: xid}, ret: nvml.SUCCESS}
	}
	_, drained := scriptEvents(server, xid(other, 48), xid(lost, 95), xid(nil, 95))
	d := newTestNVML(t, server)
	cancel, result := startWatch(t, d)
	<-drained
	cancel()
	got := await(t, result)
	if got.err != nil {
		t.Errorf("Watch: %v", got.err)
	}

	want := []HealthEvent{{Index: 5, UUID: uuidOf(server, 5), XID: 48, Reason: "XID 48 (double-bit ECC error)"}}
	for i := range 8 {
		if i != 5 {
			want = append(want, HealthEvent{Index: i, UUID: uuidOf(server, i), XID: 95, Reason: "XID 95 (uncontained ECC error) on an unidentified GPU"})
		}
	}
	if diff := cmp.Diff(want, got.events); diff != "" {
		t.Errorf("reports (-want +got):\n%s", diff)
	}
}

func TestWatchGPULost(t *testing.T) {
	server := newMockDGXA100()
	set, _ := scriptEvents(server,
		xidOn(server, 3, 79),
		waitResult{ret: nvml.ERROR_GPU_IS_LOST},
	)
	d := newTestNVML(t, server)
	_, result := startWatch(t, d)
	got := await(t, result)

	if !errors.Is(got.err, nvml.ERROR_GPU_IS_LOST) {
		t.Errorf("Watch error %v, want one wrapping ERROR_GPU_IS_LOST", got.err)
	}
	want := []HealthEvent{{Index: 3, UUID: uuidOf(server, 3), XID: 79, Reason: "XID 79 (GPU has fallen off the bus)"}}
	for i := range 8 {
		if i != 3 {
			want = append(want, HealthEvent{Index: i, UUID: uuidOf(server, i), Reason: "GPU lost"})
		}
	}
	if diff := cmp.Diff(want, got.events); diff != "" {
		t.Errorf("reports (-want +got):\n%s", diff)
	}
	if n := len(set.FreeCalls()); n != 1 {
		t.Errorf("EventSet.Free called %d times, want 1", n)
	}
}

func TestWatchSkipsGPUsWithoutEvents(t *testing.T) {
	server := newMockDGXA100()
	for i := range 7 {
		mockDevice(server, i).RegisterEventsFunc = func(uint64, nvml.EventSet) nvml.Return { return nvml.ERROR_NOT_SUPPORTED }
	}
	_, drained := scriptEvents(server, xidOn(server, 7, 64))
	d := newTestNVML(t, server)
	cancel, result := startWatch(t, d)
	<-drained
	cancel()
	got := await(t, result)
	if got.err != nil {
		t.Errorf("Watch: %v", got.err)
	}
	want := []HealthEvent{{Index: 7, UUID: uuidOf(server, 7), XID: 64, Reason: "XID 64 (ECC row remapping failed)"}}
	if diff := cmp.Diff(want, got.events); diff != "" {
		t.Errorf("reports (-want +got):\n%s", diff)
	}
}

func TestWatchErrors(t *testing.T) {
	tests := []struct {
		name        string
		breakMock   func(*dgxa100.Server)
		want        string
		isRet       nvml.Return
		unsupported bool
	}{
		{
			name: "no GPU can register",
			breakMock: func(s *dgxa100.Server) {
				for i := range 8 {
					mockDevice(s, i).RegisterEventsFunc = func(uint64, nvml.EventSet) nvml.Return { return nvml.ERROR_NOT_SUPPORTED }
				}
			},
			want:        "gpu: health watch: no GPU can deliver XID events: GPU health events are not supported by this driver",
			unsupported: true,
		},
		{
			name: "no event sets",
			breakMock: func(s *dgxa100.Server) {
				s.EventSetCreateFunc = func() (nvml.EventSet, nvml.Return) { return nil, nvml.ERROR_NOT_SUPPORTED }
			},
			want:        "gpu: health watch: nvml EventSetCreate: ERROR_NOT_SUPPORTED: GPU health events are not supported by this driver",
			isRet:       nvml.ERROR_NOT_SUPPORTED,
			unsupported: true,
		},
		{
			name: "registration fails",
			breakMock: func(s *dgxa100.Server) {
				mockDevice(s, 2).RegisterEventsFunc = func(uint64, nvml.EventSet) nvml.Return { return nvml.ERROR_NO_PERMISSION }
			},
			want:  "gpu: health watch: gpu 2: nvml Device.RegisterEvents: ERROR_NO_PERMISSION",
			isRet: nvml.ERROR_NO_PERMISSION,
		},
		{
			name:      "wait fails",
			breakMock: func(s *dgxa100.Server) { scriptEvents(s, waitResult{ret: nvml.ERROR_UNKNOWN}) },
			want:      "gpu: health watch: nvml EventSet.Wait: ERROR_UNKNOWN",
			isRet:     nvml.ERROR_UNKNOWN,
		},
		{
			name: "init fails",
			breakMock: func(s *dgxa100.Server) {
				s.InitFunc = func() nvml.Return { return nvml.ERROR_NO_PERMISSION }
			},
			want:  "gpu: health watch: nvml Init: ERROR_NO_PERMISSION",
			isRet: nvml.ERROR_NO_PERMISSION,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			server := newMockDGXA100()
			var freed int
			server.EventSetCreateFunc = func() (nvml.EventSet, nvml.Return) {
				set := quietEventSet()
				set.FreeFunc = func() nvml.Return { freed++; return nvml.SUCCESS }
				return set, nvml.SUCCESS
			}
			tt.breakMock(server)
			d := newTestNVML(t, server)
			_, result := startWatch(t, d)
			got := await(t, result)
			if got.err == nil || got.err.Error() != tt.want {
				t.Errorf("Watch error = %v, want %q", got.err, tt.want)
			}
			if errors.Is(got.err, ErrHealthNotSupported) != tt.unsupported {
				t.Errorf("errors.Is(%v, ErrHealthNotSupported) = %v, want %v", got.err, !tt.unsupported, tt.unsupported)
			}
			if tt.isRet != 0 && !errors.Is(got.err, tt.isRet) {
				t.Errorf("errors.Is(%v, %v) = false", got.err, tt.isRet)
			}
			if len(got.events) != 0 {
				t.Errorf("reports %v, want none", got.events)
			}
			if freed > 1 {
				t.Errorf("event set freed %d times", freed)
			}
		})
	}
}

// TestWatchDemoMock runs Watch over the demo's mock: it watches quietly and
// ends when its context does, or when the Discoverer is closed.
func TestWatchDemoMock(t *testing.T) {
	t.Run("cancel", func(t *testing.T) {
		d := newTestNVML(t, newMockDGXA100())
		cancel, result := startWatch(t, d)
		time.Sleep(50 * time.Millisecond)
		start := time.Now()
		cancel()
		got := await(t, result)
		if got.err != nil || len(got.events) != 0 {
			t.Errorf("Watch = %v with reports %v, want nil and none", got.err, got.events)
		}
		if took := time.Since(start); took > 200*time.Millisecond {
			t.Errorf("Watch took %v to notice its context ended", took)
		}
	})
	t.Run("cancelled before", func(t *testing.T) {
		d := newTestNVML(t, newMockDGXA100())
		d.waitTimeout = time.Hour
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := d.Watch(ctx, func(e HealthEvent) { t.Errorf("reported %v", e) }); err != nil {
			t.Errorf("Watch: %v", err)
		}
	})
	t.Run("close", func(t *testing.T) {
		server := newMockDGXA100()
		d := newNVML(server, SourceMockDGXA100, true)
		d.waitTimeout = 10 * time.Millisecond
		_, result := startWatch(t, d)
		time.Sleep(50 * time.Millisecond)
		if err := d.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		got := await(t, result) // Close waited for it: it is there already.
		if got.err != nil {
			t.Errorf("Watch ended by Close = %v, want nil", got.err)
		}
		if n := len(server.ShutdownCalls()); n != 1 {
			t.Errorf("Shutdown called %d times, want 1", n)
		}
		err := d.Watch(context.Background(), func(HealthEvent) {})
		if err == nil || !strings.Contains(err.Error(), "closed") {
			t.Errorf("Watch after Close = %v, want an error saying it is closed", err)
		}
	})
}

func TestWatchNone(t *testing.T) {
	d, err := Open(SourceNone)
	if err != nil {
		t.Fatal(err)
	}
	cancel, result := startWatch(t, d.(Watcher))
	select {
	case r := <-result:
		t.Fatalf("Watch returned %v before its context ended", r.err)
	case <-time.After(20 * time.Millisecond):
	}
	cancel()
	if got := await(t, result); got.err != nil || len(got.events) != 0 {
		t.Errorf("Watch = %v with reports %v, want nil and none", got.err, got.events)
	}
}

func TestScriptedMock(t *testing.T) {
	d, xids := NewScriptedMock()
	defer d.Close()
	inv, err := d.Discover()
	if err != nil {
		t.Fatalf("Discover: %v", err)
	}
	if inv.Source != SourceMockDGXA100 || !inv.Mock || len(inv.Devices) != 8 {
		t.Fatalf("got source %q, mock %v, %d GPUs; want mock:dgxa100, true, 8", inv.Source, inv.Mock, len(inv.Devices))
	}

	xids <- XIDInjection{Index: 2, XID: 13} // before Watch: buffered
	reports := make(chan HealthEvent, 10)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.(Watcher).Watch(ctx, func(e HealthEvent) { reports <- e }) }()
	xids <- XIDInjection{Index: 3, XID: 79}
	xids <- XIDInjection{Index: 3, XID: 79}
	xids <- XIDInjection{Index: 6, XID: 120}

	var got []HealthEvent
	for range 2 {
		select {
		case e := <-reports:
			got = append(got, e)
		case <-time.After(time.Second):
			t.Fatalf("got reports %v, then none for 1s", got)
		}
	}
	want := []HealthEvent{
		{Index: 3, UUID: inv.Devices[3].UUID, XID: 79, Reason: "XID 79 (GPU has fallen off the bus)"},
		{Index: 6, UUID: inv.Devices[6].UUID, XID: 120, Reason: "XID 120 (GSP error)"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("reports (-want +got):\n%s", diff)
	}

	start := time.Now()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Watch: %v", err)
		}
	case <-time.After(time.Second):
		t.Fatal("Watch did not end within 1s of its context")
	}
	if took := time.Since(start); took > 200*time.Millisecond {
		t.Errorf("Watch took %v to notice its context ended", took)
	}
	select {
	case e := <-reports:
		t.Errorf("extra report %v", e)
	default:
	}
}

func TestCritical(t *testing.T) {
	for _, xid := range []uint64{13, 31, 43, 45, 68, 109} {
		if Critical(xid) {
			t.Errorf("Critical(%d) = true, want false: an application fault", xid)
		}
	}
	for _, xid := range []uint64{48, 63, 64, 74, 79, 92, 94, 95, 119, 120, 1, 999} {
		if !Critical(xid) {
			t.Errorf("Critical(%d) = false, want true", xid)
		}
	}
}

func TestXIDReason(t *testing.T) {
	for xid, want := range map[uint64]string{
		79:  "XID 79 (GPU has fallen off the bus)",
		94:  "XID 94 (contained ECC error)",
		119: "XID 119 (GSP RPC timeout)",
		150: "XID 150",
	} {
		if got := xidReason(xid); got != want {
			t.Errorf("xidReason(%d) = %q, want %q", xid, got, want)
		}
	}
}
