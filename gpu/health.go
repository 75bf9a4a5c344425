package gpu

import (
	"context"
	"errors"
	"fmt"
)

// HealthEvent says one GPU became unhealthy.
type HealthEvent struct {
	// Index and UUID name the GPU as Discover does.
	Index int
	UUID  string
	// XID is the XID error that made the GPU unhealthy; 0 when the GPU was
	// lost without one.
	XID uint64
	// Reason says why, for people: "XID 79 (GPU has fallen off the bus)",
	// "GPU lost".
	Reason string
}

// Watcher is implemented by discoverers that can watch GPU health.
type Watcher interface {
	// Watch blocks until ctx ends, calling report for each GPU that turns
	// unhealthy, from Watch's own goroutine, at most once a minute per GPU
	// (so a GPU that fails again after an operator recovered it is
	// reported again): a GPU stays unhealthy until an operator recovers
	// it, which is the control plane's business, not Watch's.
	//
	// Watch returns an error wrapping ErrHealthNotSupported at once when
	// the driver cannot deliver health events, and nil when ctx ends. Any
	// other error means the watch stopped and reports nothing more.
	Watch(ctx context.Context, report func(HealthEvent)) error
}

// ErrHealthNotSupported is wrapped by the error of Watch when the driver
// cannot deliver GPU health events.
var ErrHealthNotSupported = errors.New("GPU health events are not supported by this driver")

// applicationXIDs are the XIDs a program causes by its own fault; the GPU
// is fine and the next program may use it.
var applicationXIDs = map[uint64]bool{
	13:  true, // graphics engine exception
	31:  true, // GPU memory page fault (MMU fault)
	43:  true, // GPU stopped processing (reset channel)
	45:  true, // preemptive cleanup
	68:  true, // video processor exception
	109: true, // context switch timeout
}

// Critical reports whether an XID means the GPU needs an operator.
// Application-level XIDs 13, 31, 43, 45, 68 and 109 (a program's own
// fault: graphics engine exception, MMU fault, reset channel, preemptive
// cleanup, video processor exception, context switch timeout) are not
// critical; every other XID is.
func Critical(xid uint64) bool {
	return !applicationXIDs[xid]
}

// xidDescriptions names the common XIDs, after NVIDIA's XID catalogue.
var xidDescriptions = map[uint64]string{
	13:  "graphics engine exception",
	31:  "GPU memory page fault",
	43:  "GPU stopped processing",
	45:  "preemptive cleanup",
	48:  "double-bit ECC error",
	63:  "ECC row remapping recorded",
	64:  "ECC row remapping failed",
	68:  "video processor exception",
	74:  "NVLink error",
	79:  "GPU has fallen off the bus",
	92:  "high single-bit ECC error rate",
	94:  "contained ECC error",
	95:  "uncontained ECC error",
	109: "context switch timeout",
	119: "GSP RPC timeout",
	120: "GSP error",
}

// xidReason is the HealthEvent.Reason of an XID: "XID 79 (GPU has fallen
// off the bus)", or "XID 150" for one without a description here.
func xidReason(xid uint64) string {
	if d, ok := xidDescriptions[xid]; ok {
		return fmt.Sprintf("XID %d (%s)", xid, d)
	}
	return fmt.Sprintf("XID %d", xid)
}

// reasonGPULost is the HealthEvent.Reason of a GPU that NVML lost.
const reasonGPULost = "GPU lost"
