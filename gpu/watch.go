package gpu

import (
	"context"
	"fmt"
	"reflect"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
)

// Watch watches the XID errors of every GPU through an NVML event set.
//
// It registers each GPU for nvml.EventTypeXidCriticalError, skipping GPUs
// that answer ERROR_NOT_SUPPORTED (ErrHealthNotSupported when none is left),
// and then waits for events until ctx ends or the Discoverer is closed,
// either of which returns nil:
//
//   - a critical XID (see Critical) reports its GPU; other XIDs are ignored.
//     An XID whose GPU NVML does not identify reports every GPU, since any
//     of them may be the broken one.
//   - ERROR_GPU_IS_LOST from the event set reports every GPU not reported
//     in the last minute as "GPU lost", and Watch returns an error wrapping
//     nvml.ERROR_GPU_IS_LOST.
//   - any other NVML failure returns an error naming the call.
//
// A host without GPUs has nothing to watch: Watch blocks until ctx ends.
func (n *nvmlDiscoverer) Watch(ctx context.Context, report func(HealthEvent)) error {
	w, err := n.startWatch()
	if err != nil {
		return fmt.Errorf("gpu: health watch: %w", err)
	}
	defer n.watches.Done()
	if w == nil {
		select {
		case <-ctx.Done():
		case <-n.closing:
		}
		return nil
	}
	err = n.waitEvents(ctx, w, report)
	if ret := w.set.Free(); ret != nvml.SUCCESS && err == nil {
		err = fmt.Errorf("gpu: health watch: %w", callError("EventSet.Free", ret))
	}
	return err
}

// watch is the state of one Watch.
type watch struct {
	set      nvml.EventSet
	handles  []nvml.Device
	uuids    []string
	reported []time.Time // when each GPU was last reported
}

// startWatch initialises NVML, lists the GPUs and registers them with a new
// event set. It returns nil and no error when there is no GPU; otherwise
// the caller must call n.watches.Done, and w.set.Free when w is not nil.
func (n *nvmlDiscoverer) startWatch() (*watch, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := n.initLocked(); err != nil {
		return nil, err
	}
	count, ret := n.lib.DeviceGetCount()
	if ret != nvml.SUCCESS {
		return nil, callError("DeviceGetCount", ret)
	}
	w := &watch{
		handles:  make([]nvml.Device, count),
		uuids:    make([]string, count),
		reported: make([]time.Time, count),
	}
	for i := range count {
		h, ret := n.lib.DeviceGetHandleByIndex(i)
		if ret != nvml.SUCCESS {
			return nil, fmt.Errorf("gpu %d: %w", i, callError("DeviceGetHandleByIndex", ret))
		}
		uuid, ret := h.GetUUID()
		if ret != nvml.SUCCESS {
			return nil, fmt.Errorf("gpu %d: %w", i, callError("Device.GetUUID", ret))
		}
		w.handles[i], w.uuids[i] = h, uuid
	}
	if count == 0 {
		n.watches.Add(1)
		return nil, nil
	}

	set, ret := n.lib.EventSetCreate()
	switch ret {
	case nvml.SUCCESS:
	case nvml.ERROR_NOT_SUPPORTED:
		return nil, fmt.Errorf("%w: %w", callError("EventSetCreate", ret), ErrHealthNotSupported)
	default:
		return nil, callError("EventSetCreate", ret)
	}
	registered := 0
	for i, h := range w.handles {
		switch ret := h.RegisterEvents(nvml.EventTypeXidCriticalError, set); ret {
		case nvml.SUCCESS:
			registered++
		case nvml.ERROR_NOT_SUPPORTED:
		default:
			set.Free()
			return nil, fmt.Errorf("gpu %d: %w", i, callError("Device.RegisterEvents", ret))
		}
	}
	if registered == 0 {
		set.Free()
		return nil, fmt.Errorf("no GPU can deliver XID events: %w", ErrHealthNotSupported)
	}
	w.set = set
	n.watches.Add(1)
	return w, nil
}

// waitEvents is the event loop of Watch.
func (n *nvmlDiscoverer) waitEvents(ctx context.Context, w *watch, report func(HealthEvent)) error {
	timeoutMs := uint32(n.waitTimeout.Milliseconds())
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-n.closing:
			return nil
		default:
		}
		e, ret := w.set.Wait(timeoutMs)
		switch ret {
		case nvml.SUCCESS:
			w.handle(e, report)
		case nvml.ERROR_TIMEOUT:
		case nvml.ERROR_GPU_IS_LOST:
			for i := range w.handles {
				w.report(i, 0, reasonGPULost, report)
			}
			return fmt.Errorf("gpu: health watch: %w", callError("EventSet.Wait", ret))
		default:
			return fmt.Errorf("gpu: health watch: %w", callError("EventSet.Wait", ret))
		}
	}
}

// handle reports the GPU of e if e is a critical XID.
func (w *watch) handle(e nvml.EventData, report func(HealthEvent)) {
	if e.EventType != nvml.EventTypeXidCriticalError || !Critical(e.EventData) {
		return
	}
	xid := e.EventData
	if i, ok := w.index(e.Device); ok {
		w.report(i, xid, xidReason(xid), report)
		return
	}
	for i := range w.handles {
		w.report(i, xid, xidReason(xid)+" on an unidentified GPU", report)
	}
}

// reportEvery is how often one GPU is reported at most: a storm of XIDs
// from one GPU makes one report, and a GPU that fails again after an
// operator recovered it is reported again.
const reportEvery = time.Minute

// report reports GPU i unless this watch did within reportEvery.
func (w *watch) report(i int, xid uint64, reason string, report func(HealthEvent)) {
	now := time.Now()
	if !w.reported[i].IsZero() && now.Sub(w.reported[i]) < reportEvery {
		return
	}
	w.reported[i] = now
	report(HealthEvent{Index: i, UUID: w.uuids[i], XID: xid, Reason: reason})
}

// index finds the GPU an event came from: by its handle, or else by its
// UUID (a GPU that fell off the bus may no longer answer GetUUID, which is
// why the handle comes first).
func (w *watch) index(d nvml.Device) (int, bool) {
	if d == nil {
		return 0, false
	}
	if reflect.TypeOf(d).Comparable() {
		for i, h := range w.handles {
			if h == d {
				return i, true
			}
		}
	}
	uuid, ret := d.GetUUID()
	if ret != nvml.SUCCESS {
		return 0, false
	}
	for i, u := range w.uuids {
		if u == uuid {
			return i, true
		}
	}
	return 0, false
}
