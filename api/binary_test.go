package api

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"runtime"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fill sets every field of v, however deep, to a random value that is
// not its zero value: a field the binary form forgets shows as a
// difference after a round trip.
func fill(r *rand.Rand, v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(r, v.Elem())
	case reflect.Struct:
		if v.Type() == reflect.TypeOf(time.Time{}) {
			v.Set(reflect.ValueOf(time.Unix(0, 1+r.Int64N(1<<62)).UTC()))
			return
		}
		for i := range v.NumField() {
			fill(r, v.Field(i))
		}
	case reflect.Slice:
		n := 1 + r.IntN(3)
		s := reflect.MakeSlice(v.Type(), n, n)
		for i := range s.Len() {
			fill(r, s.Index(i))
		}
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		for range 1 + r.IntN(4) {
			k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
			fill(r, k)
			fill(r, e)
			m.SetMapIndex(k, e)
		}
		v.Set(m)
	case reflect.String:
		v.SetString(fmt.Sprintf("s%x\x00é", r.Uint32()))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int64:
		v.SetInt(r.Int64N(1<<40) - 1<<39 | 1)
	case reflect.Uint64:
		v.SetUint(1 + r.Uint64())
	default:
		panic(fmt.Sprintf("fill: no case for %s", v.Type()))
	}
}

// Every field of an allocation, however deep, reads back as written: a
// field added to Allocation or Task that the binary form does not carry
// fails this test.
func TestNodeAllocationsBinaryRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	for range 100 {
		var na NodeAllocations
		fill(r, reflect.ValueOf(&na).Elem())
		got, err := ReadNodeAllocations(AppendNodeAllocations(nil, &na))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(&na, got); diff != "" {
			t.Fatalf("read back differently (-wrote +read):\n%s", diff)
		}
	}
	// The empty and nil cases read back as JSON would give them.
	got, err := ReadNodeAllocations(AppendNodeAllocations(nil, &NodeAllocations{Index: 7}))
	if err != nil || got.Index != 7 || got.Allocations == nil || len(got.Allocations) != 0 {
		t.Fatalf("empty: %+v %v", got, err)
	}
	one := &Allocation{ID: "a"}
	got, err = ReadNodeAllocations(AppendNodeAllocations(nil, &NodeAllocations{Allocations: []*Allocation{one}}))
	if err != nil || !cmp.Equal(got.Allocations[0], one) {
		t.Fatalf("zero-valued allocation: %+v %v", got.Allocations[0], err)
	}
}

// Bytes that are not a whole message are refused, never half read.
func TestNodeAllocationsBinaryRefusesCorruptBytes(t *testing.T) {
	b := AppendNodeAllocations(nil, &NodeAllocations{Index: 3, Allocations: []*Allocation{{ID: "a", Task: Task{Env: map[string]string{"K": "V"}}}}})
	for _, bad := range [][]byte{b[:len(b)-1], append(append([]byte(nil), b...), 9), {0xff}} {
		if na, err := ReadNodeAllocations(bad); err == nil {
			t.Errorf("%x read as %+v", bad, na)
		}
	}
}

// A count of allocations far above what follows is refused after the
// first one that fails to read, not after building all of them.
func TestNodeAllocationsBinaryCorruptCountIsCheap(t *testing.T) {
	w := AppendNodeAllocations(nil, &NodeAllocations{Index: 1})
	w = w[:len(w)-1]                      // drop the count of 0
	w = append(w, 0x80, 0x80, 0x80, 0x02) // a count of 4Mi ...
	w = append(w, make([]byte, 4<<20)...) // ... over 4 MiB of zeros, no allocation
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if na, err := ReadNodeAllocations(w); err == nil {
		t.Fatalf("read %d allocations from zeros", len(na.Allocations))
	}
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<20 {
		t.Fatalf("reading 4 MiB of corrupt allocations allocated %d MiB", grew>>20)
	}
}

// FuzzReadNodeAllocations: any bytes either read as allocations that
// write back to bytes reading the same, or are refused; reading never
// panics.
func FuzzReadNodeAllocations(f *testing.F) {
	r := rand.New(rand.NewPCG(1, 1))
	var na NodeAllocations
	fill(r, reflect.ValueOf(&na).Elem())
	f.Add(AppendNodeAllocations(nil, &na))
	f.Add(AppendNodeAllocations(nil, &NodeAllocations{Index: 1}))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := ReadNodeAllocations(data)
		if err != nil {
			return
		}
		again, err := ReadNodeAllocations(AppendNodeAllocations(nil, got))
		if err != nil {
			t.Fatalf("rewritten allocations do not read: %v", err)
		}
		if diff := cmp.Diff(got, again); diff != "" {
			t.Fatalf("changed on rewrite:\n%s", diff)
		}
	})
}
