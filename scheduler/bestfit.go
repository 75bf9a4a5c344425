package scheduler

// Stranding thresholds: GPUs left free on a node with less CPU or memory
// free than a default task asks for (500m, 256Mi) can serve no task in
// practice; they are stranded.
const (
	strandCPU = 500
	strandMem = 256 << 20
)

// score ranks a node for a demand; lower is a better fit. Scores are exact
// integers, so the choice never depends on floating-point rounding.
type score struct {
	// wastesGPU is set when a task that needs no GPU would land on a node
	// that still has free GPUs.
	wastesGPU bool
	// stranded is how many GPUs the placement would leave free on a node
	// without the CPU or memory to use them.
	stranded int
	// gpusLeft is how many GPUs the node would have free: fewer is a
	// tighter fit, so that whole nodes stay whole for large requests.
	gpusLeft int
	// dominant is the largest share of CPU, memory or GPUs the node would
	// have left after the placement; sum is the sum of those shares.
	dominant, sum uint64
}

func (a score) less(b score) bool {
	if a.wastesGPU != b.wastesGPU {
		return !a.wastesGPU
	}
	if a.stranded != b.stranded {
		return a.stranded < b.stranded
	}
	if a.gpusLeft != b.gpusLeft {
		return a.gpusLeft < b.gpusLeft
	}
	if a.dominant != b.dominant {
		return a.dominant < b.dominant
	}
	return a.sum < b.sum
}

// candidate is a bucket of nodes, or one node scanned on its own, that
// may take a demand, with the score its nodes would get.
type candidate struct {
	b    *bucket
	node int
	sc   score
}

// find returns the best node for d, or -1 and why d fits nowhere. With next
// set, the reason refers to the next member of a job that placed some
// already.
func (c *cluster) find(d *demand, next bool) (int, string) {
	key := failureKey{res: d.res, next: next, port: d.port, raw: d.raw}
	if d.sel != nil {
		key.selector = d.sel.text
	}
	cacheable := d.spread == 0
	if f, ok := c.failures[key]; cacheable && ok && f.version == c.version {
		return -1, f.reason
	}
	if n := c.bestNode(d); n >= 0 {
		return n, ""
	}
	why := c.explain(d, next)
	if cacheable {
		c.failures[key] = failure{version: c.version, reason: why}
	}
	return -1, why
}

// bestNode returns the ready node on which d fits with the best score,
// ties going to the lowest node ID (with firstFit, simply the lowest ID),
// or -1.
func (c *cluster) bestNode(d *demand) int {
	if d.sel != nil && len(d.sel.nodes) <= max(64, len(c.nodes)/8) {
		return c.scan(d.sel.nodes, d)
	}
	cands := c.cands[:0]
	for _, b := range c.idx.list {
		cl := &c.classes[b.key.class]
		if !bucketMayFit(b.key, cl, d) {
			continue
		}
		cands = append(cands, candidate{b: b, node: -1, sc: c.score(cl, b.key.cpu, b.key.mem, int(b.key.gpus), d)})
	}
	if d.raw {
		// Reserved nodes offer more to work that ends in time than their
		// bucket says; score them on their own.
		for _, i := range c.reserved {
			if c.fits(i, d) {
				s := &c.nodes[i]
				cpu, mem, gpus := s.view(true)
				cands = append(cands, candidate{node: i, sc: c.score(&c.classes[s.class], cpu, mem, gpus, d)})
			}
		}
	}
	c.cands = cands
	for len(cands) > 0 {
		low := cands[0].sc
		for _, cd := range cands[1:] {
			if cd.sc.less(low) {
				low = cd.sc
			}
		}
		best := -1
		rest := cands[:0]
		for _, cd := range cands {
			if cd.sc != low {
				rest = append(rest, cd)
				continue
			}
			n := cd.node
			if cd.b != nil {
				n = c.firstIn(cd.b, d, best)
			}
			if n >= 0 && (best < 0 || n < best) {
				best = n
			}
		}
		if best >= 0 {
			return best
		}
		cands = rest
	}
	return -1
}

// firstIn returns the lowest node of b, below limit (if limit >= 0), that
// d fits on, or -1.
func (c *cluster) firstIn(b *bucket, d *demand, limit int) int {
	for _, id := range b.nodes.all() {
		i := int(id)
		if limit >= 0 && i >= limit {
			return -1
		}
		if d.raw && c.nodes[i].hasRes() {
			continue // scored on its own
		}
		if c.fits(i, d) {
			return i
		}
	}
	return -1
}

// scan returns the best of the given nodes for d, or -1.
func (c *cluster) scan(nodes []int, d *demand) int {
	best, bestScore := -1, score{}
	for _, i := range nodes {
		if !c.fits(i, d) {
			continue
		}
		if c.firstFit {
			return i
		}
		s := &c.nodes[i]
		cpu, mem, gpus := s.view(d.raw)
		sc := c.score(&c.classes[s.class], cpu, mem, gpus, d)
		if best < 0 || sc.less(bestScore) {
			best, bestScore = i, sc
		}
	}
	return best
}

// bucketMayFit reports whether d may fit on the nodes of a bucket: always
// exactly so for a uniform class, except for ports, selectors and spread,
// which fits checks node by node.
func bucketMayFit(k stateKey, cl *nodeClass, d *demand) bool {
	if k.cpu < d.res.CPUMilli || k.mem < d.res.MemoryBytes || int(k.gpus) < d.res.GPUs {
		return false
	}
	if d.res.GPUs > 0 && cl.uniform && (!d.modelOK[cl.model] || cl.gpuMem < d.res.GPUMemoryBytes) {
		return false
	}
	return !d.port || cl.ports
}

// score rates a node of class cl with the given free resources for d as
// if d were placed there. The caller has checked that d fits.
func (c *cluster) score(cl *nodeClass, cpu, mem int64, gpus int, d *demand) score {
	if c.firstFit {
		return score{}
	}
	cpu -= d.res.CPUMilli
	mem -= d.res.MemoryBytes
	gpus -= max(d.res.GPUs, 0)
	sc := score{wastesGPU: d.res.GPUs <= 0 && gpus > 0, gpusLeft: gpus}
	if cpu < strandCPU || mem < strandMem {
		sc.stranded = gpus
	}
	cs, ms := cl.invCPU.of(cpu), cl.invMem.of(mem)
	sc.dominant, sc.sum = max(cs, ms), cs+ms
	if cl.gpus > 0 {
		g := cl.invGPU.of(int64(gpus))
		sc.dominant = max(sc.dominant, g)
		sc.sum += g
	}
	return sc
}

// shareOne is the fixed-point value of a whole share.
const shareOne = 1 << 16

// inverse turns an amount of one resource of a node into its share of the
// node's total, in units of 1/shareOne, with a multiply instead of a
// divide.
type inverse struct {
	total int64
	inv   uint64 // shareOne<<32 / total
}

func inverseOf(total int64) inverse {
	if total <= 0 {
		return inverse{}
	}
	return inverse{total: total, inv: (shareOne << 32) / uint64(total)}
}

// of returns left/total in units of 1/shareOne, rounded down, clamped to
// [0, shareOne]. left*inv <= total*inv <= 2^48, so it cannot overflow.
func (v inverse) of(left int64) uint64 {
	if left <= 0 || v.total <= 0 {
		return 0
	}
	left = min(left, v.total)
	return (uint64(left) * v.inv) >> 32
}
