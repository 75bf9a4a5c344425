package fsm

import "github.com/phalanx-sched/phalanx/internal/wire"

// The commands every placement and every executor report go through
// (Place, Report) are written in the compact binary form of package wire
// instead of JSON: each server reads every entry, so decoding is paid
// three or five times over, and JSON of time stamps and strings costs
// more than applying them.

// binaryPayload is a command payload with a binary form.
type binaryPayload interface {
	appendBinary(w *wire.Writer)
}

// binaryDecoder is the pointer side of a binaryPayload.
type binaryDecoder[T any] interface {
	*T
	readBinary(r *wire.Reader)
}
