package state

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/phalanx-sched/phalanx/api"
)

// BenchmarkPutAlloc is the store's cost of the two writes every placement
// makes: the allocation's insert, in transactions of 100 as a Place entry
// brings them, then its update to running, in transactions of 8 as a
// node's report brings them, with 40,000 live allocations on 5,000 nodes
// in the store.
func BenchmarkPutAlloc(b *testing.B) {
	s := New()
	const live = 40000
	index := uint64(1)
	// IDs as random as the leader's UUIDs, so the trees are searched
	// the way they are in a server, not in the order they were filled.
	ids := make([]string, live+b.N)
	r := rand.New(rand.NewPCG(1, 1))
	for i := range ids {
		ids[i] = fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", r.Uint32(), r.Uint32()&0xffff, r.Uint32()&0xfff, r.Uint32()&0xfff, r.Uint64()&0xffffffffffff)
	}
	mk := func(i int) *api.Allocation {
		return &api.Allocation{ID: ids[i], JobID: fmt.Sprintf("job-%06d", i/100),
			NodeID: fmt.Sprintf("node-%08x-0000-4000-8000-000000000000", i%5000), State: api.AllocPending, DesiredState: api.DesiredRun}
	}
	for i := 0; i < live; i += 100 {
		s.Write(index, func(tx *Txn) error {
			for k := i; k < i+100; k++ {
				tx.PutAlloc(mk(k))
			}
			return nil
		})
		index++
	}
	b.ResetTimer()
	for i := 0; i < b.N; i += 100 {
		index++
		s.Write(index, func(tx *Txn) error {
			for k := i; k < i+100 && k < b.N; k++ {
				tx.PutAlloc(mk(live + k))
			}
			return nil
		})
		// Reports come a node's worth at a time.
		for j := i; j < i+100 && j < b.N; j += 8 {
			index++
			s.Write(index, func(tx *Txn) error {
				for k := j; k < j+8 && k < b.N; k++ {
					a := mk(live + k)
					a.State = api.AllocRunning
					tx.PutAlloc(a)
				}
				return nil
			})
		}
	}
}
