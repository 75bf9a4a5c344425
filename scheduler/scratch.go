package scheduler

import (
	"sync"

	"github.com/phalanx-sched/phalanx/api"
)

// scratch is the memory one pass needs in proportion to the nodes, GPUs,
// live allocations and jobs of its Input. Schedule takes one from a pool
// and puts it back before it returns, so that pass after pass (the
// leader's loop, `phalanx sim`) reuses megabytes instead of handing them
// to the garbage collector each time. Every use starts from zeroed
// memory and nothing in a Plan points into it, so reuse cannot change a
// plan; a scratch in the pool may keep the last Input's objects
// reachable until its next use.
type scratch struct {
	nodes    []*api.Node
	states   []nodeState
	gpus     []gpuSlot
	allocs   []*api.Allocation
	units    []unit
	unitsOf  []*unit // jobInfo.units, one slice for all jobs
	unitGPUs []int   // unit.slots, likewise
	infos    []jobInfo
	running  []*jobInfo
	jobs     map[string]*jobInfo
	pos      map[string]int
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// reuse returns s resliced to length n and zeroed, or a new slice when s
// is too short.
func reuse[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n, n+n/8)
	}
	s = s[:n]
	clear(s)
	return s
}

// grow returns s resliced to length n without zeroing it, or a new slice
// when s is too short: for memory the caller overwrites whole.
func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n, n+n/8)
	}
	return s[:n]
}

// emptyMap returns m emptied, or a new map for about n keys.
func emptyMap[K comparable, V any](m map[K]V, n int) map[K]V {
	if m == nil {
		return make(map[K]V, n)
	}
	clear(m)
	return m
}
