package scheduler

import (
	"slices"

	"github.com/phalanx-sched/phalanx/api"
)

// linkDomains numbers the NVLink domains of the node's GPUs into
// gpuSlot.domain and returns how many there are, or 0 when no GPU has an
// NVLink peer among the node's GPUs (GPU choice then ignores topology).
//
// A domain is a connected component of the graph whose edges are the
// GPUs' NVLinkPeers; a peer listed by either side is an edge, and peers
// that are not GPUs of the node are ignored. A GPU with no link is a
// domain of its own. Domains are numbered in order of their lowest GPU
// index. gpus is the node's GPU list; s.gpus must already be built from it.
func (s *nodeState) linkDomains(gpus []api.GPU) int32 {
	var parent []int // union-find over positions in s.gpus; a root is its set's lowest position
	root := func(k int) int {
		for parent[k] != k {
			parent[k] = parent[parent[k]]
			k = parent[k]
		}
		return k
	}
	for _, g := range gpus {
		if len(g.NVLinkPeers) == 0 {
			continue // the common case: no NVLink information
		}
		a := s.slot(g.Index)
		for _, peer := range g.NVLinkPeers {
			b := s.slot(peer)
			if b < 0 || b == a {
				continue
			}
			if parent == nil {
				parent = make([]int, len(s.gpus))
				for k := range parent {
					parent[k] = k
				}
			}
			ra, rb := root(a), root(b)
			parent[max(ra, rb)] = min(ra, rb)
		}
	}
	if parent == nil {
		return 0
	}
	var n int32
	for k := range s.gpus {
		if r := root(k); r == k {
			s.gpus[k].domain = n
			n++
		} else {
			s.gpus[k].domain = s.gpus[r].domain // r < k, numbered already
		}
	}
	return n
}

// domainCache numbers NVLink domains once per distinct topology. Nodes of
// one model have the same GPU indices and NVLink peers, so a node whose
// GPU list matches a topology seen before (same indices and peers, in the
// same order) copies that numbering instead of working it out again. It
// holds a few topologies; nodes of other ones are numbered directly.
type domainCache struct {
	topos []topology
}

// topology is one node's GPU list and the domains linkDomains gave it.
type topology struct {
	gpus    []api.GPU // as the node lists them
	domain  []int32   // by position in nodeState.gpus
	domains int32
}

const maxTopologies = 8

// number sets s.gpus[k].domain and returns what linkDomains would.
func (dc *domainCache) number(s *nodeState, gpus []api.GPU) int32 {
	if !hasPeers(gpus) {
		return 0
	}
	for _, t := range dc.topos {
		if sameTopology(t.gpus, gpus) {
			for k := range s.gpus {
				s.gpus[k].domain = t.domain[k]
			}
			return t.domains
		}
	}
	n := s.linkDomains(gpus)
	if len(dc.topos) < maxTopologies {
		t := topology{gpus: gpus, domain: make([]int32, len(s.gpus)), domains: n}
		for k := range s.gpus {
			t.domain[k] = s.gpus[k].domain
		}
		dc.topos = append(dc.topos, t)
	}
	return n
}

func hasPeers(gpus []api.GPU) bool {
	for k := range gpus {
		if len(gpus[k].NVLinkPeers) > 0 {
			return true
		}
	}
	return false
}

// sameTopology reports whether two GPU lists have the same indices and
// NVLink peers in the same order; the domains depend on nothing else.
func sameTopology(a, b []api.GPU) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if a[k].Index != b[k].Index || !slices.Equal(a[k].NVLinkPeers, b[k].NVLinkPeers) {
			return false
		}
	}
	return true
}

// pickGPUs returns the positions in s.gpus of the d.res.GPUs GPUs that d
// gets on node s, in index order: the lowest usable indices inside the
// domain bestDomain picks, or, when no domain can hold them all or the
// node has no NVLink information, the lowest usable indices overall.
// The caller has checked fits.
func (c *cluster) pickGPUs(s *nodeState, d *demand) []int {
	dom := -1
	if s.domains > 0 && !c.firstFit {
		dom = c.bestDomain(s, d)
	}
	out := make([]int, 0, d.res.GPUs)
	for k := range s.gpus {
		if len(out) == d.res.GPUs {
			break
		}
		if g := &s.gpus[k]; d.usable(g) && (dom < 0 || int(g.domain) == dom) {
			out = append(out, k)
		}
	}
	return out
}

// bestDomain returns the NVLink domain of node s with at least d.res.GPUs
// GPUs usable by d that has the fewest such GPUs (best fit, so that large
// domains stay whole for large requests), ties going to the domain with
// the lowest usable GPU index; or -1 if no domain has enough. It costs
// O(GPUs of the node) and does not allocate once the scratch space has
// grown.
func (c *cluster) bestDomain(s *nodeState, d *demand) int {
	if cap(c.domainFree) < int(s.domains) {
		c.domainFree = make([]int, s.domains)
	}
	free := c.domainFree[:s.domains]
	clear(free)
	order := c.domainOrder[:0] // domains by lowest usable GPU index
	for k := range s.gpus {
		g := &s.gpus[k]
		if !d.usable(g) {
			continue
		}
		if free[g.domain] == 0 {
			order = append(order, int(g.domain))
		}
		free[g.domain]++
	}
	c.domainOrder = order
	best := -1
	for _, dom := range order {
		if free[dom] >= d.res.GPUs && (best < 0 || free[dom] < free[best]) {
			best = dom
		}
	}
	return best
}
