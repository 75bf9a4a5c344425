// Package wire is a compact binary form for the messages the control
// plane sends most: Raft entries that every server reads (placements,
// executors' reports) and the allocations executors poll for. JSON of
// the same costs more to write and read than everything else done with
// them.
//
// A message is a sequence of values in a fixed order: unsigned and
// signed varints, strings and lists as a length followed by their bytes
// or elements, flags as one byte 0 or 1, times as a flag and Unix
// nanoseconds (read back in UTC, so every reader holds the same value).
// Nothing in the bytes names a field: reader and writer must agree on the
// order, and a new field means a new message version.
package wire

import (
	"encoding/binary"
	"errors"
	"maps"
	"slices"
	"time"
)

// Writer appends values to B.
type Writer struct{ B []byte }

func (w *Writer) Uint(v uint64) { w.B = binary.AppendUvarint(w.B, v) }
func (w *Writer) Int(v int64)   { w.B = binary.AppendVarint(w.B, v) }
func (w *Writer) Len(n int)     { w.Uint(uint64(n)) }

func (w *Writer) Str(s string) {
	w.Len(len(s))
	w.B = append(w.B, s...)
}

func (w *Writer) Flag(set bool) {
	if set {
		w.B = append(w.B, 1)
	} else {
		w.B = append(w.B, 0)
	}
}

func (w *Writer) Ints(v []int) {
	w.Len(len(v))
	for _, x := range v {
		w.Int(int64(x))
	}
}

func (w *Writer) Strs(v []string) {
	w.Len(len(v))
	for _, s := range v {
		w.Str(s)
	}
}

// StrMap writes m's pairs in key order, so equal maps write equal bytes.
func (w *Writer) StrMap(m map[string]string) {
	w.Len(len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		w.Str(k)
		w.Str(m[k])
	}
}

func (w *Writer) Time(t time.Time) {
	w.Flag(!t.IsZero())
	if !t.IsZero() {
		w.Int(t.UnixNano())
	}
}

// ErrCorrupt is what a Reader reports of bytes that are not a message.
var ErrCorrupt = errors.New("corrupt binary message")

// Reader reads what Writer wrote from B. After the first error every read
// returns a zero value and Err stays set.
type Reader struct {
	B   []byte
	Err error
}

func (r *Reader) fail() {
	if r.Err == nil {
		r.Err = ErrCorrupt
	}
	r.B = nil
}

func (r *Reader) Uint() uint64 {
	v, n := binary.Uvarint(r.B)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.B = r.B[n:]
	return v
}

func (r *Reader) Int() int64 {
	v, n := binary.Varint(r.B)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.B = r.B[n:]
	return v
}

// Len reads a count of things each at least one byte long, so a corrupt
// count never makes a reader allocate more than the message's size.
func (r *Reader) Len() int {
	n := r.Uint()
	if n > uint64(len(r.B)) {
		r.fail()
		return 0
	}
	return int(n)
}

func (r *Reader) Str() string {
	n := r.Len()
	s := string(r.B[:n])
	r.B = r.B[n:]
	return s
}

// Flag reads a presence byte, 0 or 1.
func (r *Reader) Flag() bool {
	if len(r.B) == 0 || r.B[0] > 1 {
		r.fail()
		return false
	}
	set := r.B[0] == 1
	r.B = r.B[1:]
	return set
}

// List makes a list of n, nil for none, as the writer had it.
func List[T any](n int) []T {
	if n == 0 {
		return nil
	}
	return make([]T, n)
}

func (r *Reader) Ints() []int {
	v := List[int](r.Len())
	for i := range v {
		v[i] = int(r.Int())
	}
	return v
}

func (r *Reader) Strs() []string {
	v := List[string](r.Len())
	for i := range v {
		v[i] = r.Str()
	}
	return v
}

// StrMap reads a map, nil for none.
func (r *Reader) StrMap() map[string]string {
	n := r.Len()
	if n == 0 {
		return nil
	}
	m := make(map[string]string, n)
	for range n {
		k := r.Str()
		m[k] = r.Str()
	}
	return m
}

func (r *Reader) Time() time.Time {
	if !r.Flag() {
		return time.Time{}
	}
	return time.Unix(0, r.Int()).UTC()
}

// Done reports an error unless every byte was read.
func (r *Reader) Done() error {
	if r.Err == nil && len(r.B) > 0 {
		r.Err = ErrCorrupt
	}
	return r.Err
}
