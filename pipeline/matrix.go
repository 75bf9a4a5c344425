package pipeline

import (
	"fmt"
	"hash/fnv"
	"sort"
	"strings"
)

// cell is one combination of a step's matrix values.
type cell struct {
	// name is the step name for this cell: "test-go-1-22-os-linux".
	name string
	vars map[string]string
}

// cells expands a step's matrix into its cells, in order: variables sorted
// by name, the first varying slowest, values in the order written. A step
// without a matrix is one cell under its own name.
func cells(s Step) []cell {
	if len(s.Matrix) == 0 {
		return []cell{{name: s.Name}}
	}
	keys := make([]string, 0, len(s.Matrix))
	for k := range s.Matrix {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := []cell{{vars: map[string]string{}}}
	for _, k := range keys {
		var next []cell
		for _, c := range out {
			for _, val := range s.Matrix[k] {
				vars := make(map[string]string, len(c.vars)+1)
				for kk, vv := range c.vars {
					vars[kk] = vv
				}
				vars[k] = val
				next = append(next, cell{vars: vars})
			}
		}
		out = next
	}
	for i := range out {
		raw := s.Name
		for _, k := range keys {
			raw += "-" + k + "-" + out[i].vars[k]
		}
		out[i].name = cellName(raw)
	}
	return out
}

// cellName makes a DNS label of raw: lowercase, every run of characters
// other than letters and digits one '-'. A name longer than 63 characters
// is cut to 54 and given a hash of raw, so distinct cells stay distinct.
func cellName(raw string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(raw) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	name := strings.TrimSuffix(b.String(), "-")
	if len(name) <= 63 && name != "" {
		return name
	}
	h := fnv.New32a()
	h.Write([]byte(raw))
	return strings.TrimSuffix(name[:min(len(name), 54)], "-") + fmt.Sprintf("-%08x", h.Sum32())
}

// matrixSize is the number of cells of m, or MaxMatrixCells+1 when there
// are more.
func matrixSize(m map[string][]string) int {
	n := 1
	for _, vals := range m {
		n = min(n*len(vals), MaxMatrixCells+1)
	}
	return n
}
