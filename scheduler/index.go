package scheduler

import "slices"

// index groups the ready nodes into buckets of nodes in the same state:
// the same class (shape, GPU model and memory, healthy GPUs, ports) and
// the same free CPU, memory and GPUs as work that respects reservations
// sees them. Every node of a bucket scores the same for a demand, and for
// nodes of a uniform class fits the same too, so finding the best node
// costs O(buckets) plus a look at the first nodes of the winning
// buckets, not O(nodes). A homogeneous cluster has few buckets however
// many nodes it has: 10,000 nodes of 8 GPUs running single-GPU tasks form
// at most 9.
//
// Buckets are kept in a map for lookup and a slice for iteration; the
// slice's order never decides anything (candidates are compared by score,
// then node ID).
type index struct {
	byKey map[stateKey]*bucket
	list  []*bucket // the non-empty buckets
}

type stateKey struct {
	class    int32
	gpus     int32
	cpu, mem int64
}

type bucket struct {
	key   stateKey
	nodes nodeSet
	at    int // position in index.list, or -1 while empty
}

func (x *index) init(nodes int) {
	x.byKey = make(map[stateKey]*bucket, 16)
}

func keyOf(s *nodeState) stateKey {
	cpu, mem, gpus := s.view(false)
	return stateKey{class: s.class, gpus: int32(gpus), cpu: cpu, mem: mem}
}

// place adds ready node i to the bucket of its state.
func (x *index) place(c *cluster, i int) {
	s := &c.nodes[i]
	k := keyOf(s)
	b := x.byKey[k]
	if b == nil {
		b = &bucket{key: k, at: -1}
		x.byKey[k] = b
	}
	b.nodes.insert(int32(i))
	if b.at < 0 {
		b.at = len(x.list)
		x.list = append(x.list, b)
	}
	s.bucket = b
}

// move puts ready node i into the bucket of its current state.
func (x *index) move(c *cluster, i int) {
	s := &c.nodes[i]
	if s.bucket != nil {
		if s.bucket.key == keyOf(s) {
			return
		}
		x.remove(s.bucket, i)
	}
	x.place(c, i)
}

func (x *index) remove(b *bucket, i int) {
	b.nodes.remove(int32(i))
	if b.nodes.len() > 0 {
		return
	}
	last := x.list[len(x.list)-1]
	x.list[b.at] = last
	last.at = b.at
	x.list = x.list[:len(x.list)-1]
	b.at = -1
}

// nodeSet is a sorted set of node positions. It is a slice with a movable
// start, so that taking the lowest node, the common case, costs O(1), and
// other inserts and removes move the shorter side.
type nodeSet struct {
	ids []int32
	lo  int
}

func (s *nodeSet) len() int     { return len(s.ids) - s.lo }
func (s *nodeSet) at(k int) int { return int(s.ids[s.lo+k]) }
func (s *nodeSet) all() []int32 { return s.ids[s.lo:] }

func (s *nodeSet) insert(i int32) {
	v := s.ids[s.lo:]
	k, found := slices.BinarySearch(v, i)
	if found {
		return
	}
	if s.lo > 0 && k < len(v)/2 {
		copy(s.ids[s.lo-1:], v[:k])
		s.lo--
		s.ids[s.lo+k] = i
		return
	}
	s.ids = slices.Insert(s.ids, s.lo+k, i)
}

func (s *nodeSet) remove(i int32) {
	v := s.ids[s.lo:]
	k, found := slices.BinarySearch(v, i)
	if !found {
		return
	}
	if k < len(v)/2 {
		copy(s.ids[s.lo+1:], v[:k])
		s.lo++
	} else {
		s.ids = slices.Delete(s.ids, s.lo+k, s.lo+k+1)
	}
	if s.lo == len(s.ids) {
		s.ids, s.lo = s.ids[:0], 0
	}
}
