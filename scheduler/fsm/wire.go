package fsm

import (
	"encoding/binary"
	"errors"
	"time"
)

// The commands every placement and every executor report go through
// (Place, Report) are written in a compact binary form instead of JSON:
// each server reads every entry, so decoding is paid three or five times
// over, and JSON of time stamps and strings costs more than applying them.
// The form is a sequence of values in a fixed order: unsigned and signed
// varints, strings and lists as a length followed by their bytes or
// elements, times as a presence byte and Unix nanoseconds (read back in
// UTC, so every server stores the same value). Nothing is optional
// except what a type says; a new field means a new command.

// binaryPayload is a command payload with a binary form.
type binaryPayload interface {
	appendBinary(w *writer)
}

// binaryDecoder is the pointer side of a binaryPayload.
type binaryDecoder[T any] interface {
	*T
	readBinary(r *reader)
}

type writer struct{ b []byte }

func (w *writer) uint(v uint64) { w.b = binary.AppendUvarint(w.b, v) }
func (w *writer) int(v int64)   { w.b = binary.AppendVarint(w.b, v) }
func (w *writer) len(n int)     { w.uint(uint64(n)) }

func (w *writer) str(s string) {
	w.len(len(s))
	w.b = append(w.b, s...)
}

func (w *writer) ints(v []int) {
	w.len(len(v))
	for _, x := range v {
		w.int(int64(x))
	}
}

func (w *writer) flag(set bool) {
	if set {
		w.b = append(w.b, 1)
	} else {
		w.b = append(w.b, 0)
	}
}

func (w *writer) time(t time.Time) {
	w.flag(!t.IsZero())
	if !t.IsZero() {
		w.int(t.UnixNano())
	}
}

// errCorrupt is what a reader reports of bytes that are not a payload.
var errCorrupt = errors.New("corrupt binary payload")

// reader reads what writer wrote. After the first error every read
// returns a zero value and err stays set.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail() {
	if r.err == nil {
		r.err = errCorrupt
	}
	r.b = nil
}

func (r *reader) uint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) int() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

// len reads a count of things each at least one byte long, so a corrupt
// count can never make a reader allocate more than the payload's size.
func (r *reader) len() int {
	n := r.uint()
	if n > uint64(len(r.b)) {
		r.fail()
		return 0
	}
	return int(n)
}

func (r *reader) str() string {
	n := r.len()
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

// makeN makes a list of n, nil for none, as a payload had it before it
// was written.
func makeN[T any](n int) []T {
	if n == 0 {
		return nil
	}
	return make([]T, n)
}

func (r *reader) ints() []int {
	v := makeN[int](r.len())
	for i := range v {
		v[i] = int(r.int())
	}
	return v
}

// flag reads a presence byte, 0 or 1.
func (r *reader) flag() bool {
	if len(r.b) == 0 || r.b[0] > 1 {
		r.fail()
		return false
	}
	set := r.b[0] == 1
	r.b = r.b[1:]
	return set
}

func (r *reader) time() time.Time {
	if !r.flag() {
		return time.Time{}
	}
	return time.Unix(0, r.int()).UTC()
}

// done reports an error unless every byte was read.
func (r *reader) done() error {
	if r.err == nil && len(r.b) > 0 {
		r.err = errCorrupt
	}
	return r.err
}
