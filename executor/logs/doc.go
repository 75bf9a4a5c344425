// Package logs keeps each allocation's output on disk so that it outlives
// the task's container, with a size cap, live following and retention.
//
// Layout: in the store's directory, allocation ID's current output is
// <id>.log and the previous half is <id>.log.1. When <id>.log reaches
// maxBytes/2 it is renamed over <id>.log.1, so at most about maxBytes stays
// on disk and the newest output is always kept. Once a rotation has
// replaced an older <id>.log.1, the marker <id>.dropped exists, and Read and
// Follow begin with the line
//
//	[phalanx: older output dropped, log capped at N bytes]
//
// The contract:
//   - Open returns the allocation's writer; it appends, so reopening after an
//     agent restart continues the same log. One writer per allocation at a
//     time. Writes go to the file and wake followers; they never wait for a
//     reader.
//   - Read writes what is kept, oldest first. An unknown allocation is an
//     error wrapping ErrNotFound.
//   - Follow writes what is kept and then new output as it is written, and
//     returns nil once the writer is closed and its last byte is written, or
//     ctx's error when ctx ends first. With no open writer it writes what is
//     kept and returns. Expect marks an allocation whose writer is about to
//     be opened, so that a Follow arriving first waits for it.
//   - A follower survives rotation without losing or repeating bytes as long
//     as it keeps up to within one rotation (maxBytes/2 of output). A
//     follower that falls further behind than that misses the rotated-away
//     output, and says so with a "[phalanx: ... dropped ...]" line.
//   - Remove deletes an allocation's log (retention). It refuses while a
//     writer is open.
//
// A Store is safe for concurrent use.
//
// Masker sits in front of a Store's writer and replaces the values of a
// task's secret variables with *** before anything is stored or followed:
// line by line, so that a secret split across writes is still caught;
// each line of a multi-line value on its own; values (lines) shorter than
// MinSecretLen are not masked (see SecretLines).
package logs
