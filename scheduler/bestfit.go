package scheduler

// score ranks a node for a demand; lower is a better fit. Scores are exact
// integers, so the choice never depends on floating-point rounding.
type score struct {
	// wastesGPU is set when a task that needs no GPU would land on a node
	// that still has free GPUs.
	wastesGPU bool
	// dominant is the largest share of CPU, memory or GPUs the node would
	// have left after the placement; sum is the sum of those shares.
	dominant, sum uint64
}

func (a score) less(b score) bool {
	if a.wastesGPU != b.wastesGPU {
		return !a.wastesGPU
	}
	if a.dominant != b.dominant {
		return a.dominant < b.dominant
	}
	return a.sum < b.sum
}

// find returns the best node for d, or -1 and why d fits nowhere. With next
// set, the reason refers to the next member of a job that placed some
// already.
func (c *cluster) find(d *demand, next bool) (int, string) {
	key := failureKey{res: d.res, next: next, port: d.port}
	if f, ok := c.failures[key]; ok && f.version == c.version {
		return -1, f.reason
	}
	if n := c.bestNode(d); n >= 0 {
		return n, ""
	}
	why := c.explain(d, next)
	c.failures[key] = failure{version: c.version, reason: why}
	return -1, why
}

// bestNode returns the ready node on which d fits and leaves the least free
// resources (best fit), or -1. Ties go to the lowest node ID.
func (c *cluster) bestNode(d *demand) int {
	best, bestScore := -1, score{}
	for i := range c.nodes {
		if !c.fits(i, d) {
			continue
		}
		sc := c.score(i, d)
		if best < 0 || sc.less(bestScore) {
			best, bestScore = i, sc
		}
	}
	return best
}

// score rates node i for d as if d were placed there. The caller has
// checked fits.
func (c *cluster) score(i int, d *demand) score {
	s := &c.nodes[i]
	cpu := s.invCPU.of(s.freeCPU - d.res.CPUMilli)
	mem := s.invMem.of(s.freeMem - d.res.MemoryBytes)
	sc := score{wastesGPU: d.res.GPUs <= 0 && s.freeGPUs > 0, dominant: max(cpu, mem), sum: cpu + mem}
	if len(s.gpus) > 0 {
		gpu := s.invGPU.of(int64(s.freeGPUs - max(d.res.GPUs, 0)))
		sc.dominant = max(sc.dominant, gpu)
		sc.sum += gpu
	}
	return sc
}

// shareOne is the fixed-point value of a whole share.
const shareOne = 1 << 16

// inverse turns an amount of one resource of a node into its share of the
// node's total, in units of 1/shareOne, with a multiply instead of a
// divide: the hot loop scores every node for every member.
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
