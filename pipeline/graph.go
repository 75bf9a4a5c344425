package pipeline

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/phalanx-sched/phalanx/internal/yamlfile"
)

// checkSteps checks what spans steps: unique names (matrix cells
// included), needs that name steps, no cycles, and the step count. top is
// the pipeline file's validator; the steps' own are in p.steps.
func (p *parser) checkSteps(top *validator, steps []Step) {
	byName := map[string]int{} // step or cell name -> index of its step
	total := 0
	for i, s := range steps {
		r := p.steps[i]
		if s.Name == "" {
			continue
		}
		if j, dup := byName[s.Name]; dup {
			r.v.Errorf(r.path+".name", "step name %s is already used by the step at %s", yamlfile.Quote(s.Name), where(steps[j].Pos))
			continue
		}
		byName[s.Name] = i
	}
	for i, s := range steps {
		if len(s.Matrix) == 0 || s.Name == "" || matrixSize(s.Matrix) > MaxMatrixCells || total > MaxSteps {
			total++ // a matrix too large is reported already
			continue
		}
		cs := cells(s)
		total += len(cs)
		for _, c := range cs {
			if j, dup := byName[c.name]; dup {
				r := p.steps[i]
				r.v.Errorf(r.path+".matrix", "cell %s has the same name as the step at %s", yamlfile.Quote(c.name), where(steps[j].Pos))
				break
			}
			byName[c.name] = i
		}
	}
	if total > MaxSteps {
		top.Errorf("steps", "%d steps (matrix cells counted), at most %d", total, MaxSteps)
	}
	names := map[string]int{}
	for i, s := range steps {
		if _, dup := names[s.Name]; !dup && s.Name != "" {
			names[s.Name] = i
		}
	}
	for i, s := range steps {
		r := p.steps[i]
		for j, n := range s.Needs {
			if _, found := names[n]; !found {
				q := r.v.item(r.path+".needs", r.file.Needs, j)
				if sug := yamlfile.Suggest(n, slices.Sorted(maps.Keys(names))); sug != "" && len(n) > 3 {
					r.v.Errorf(q, "no step named %s; did you mean %q?", yamlfile.Quote(n), sug)
				} else {
					r.v.Errorf(q, "no step named %s", yamlfile.Quote(n))
				}
			}
		}
	}
	p.checkCycles(steps, names)
}

func where(pos Pos) string {
	return fmt.Sprintf("%s:%d", pos.File, pos.Line)
}

// checkCycles reports each cycle in needs once, at the need that closes
// it: "a -> b -> a".
func (p *parser) checkCycles(steps []Step, names map[string]int) {
	const (
		unseen = iota
		onPath
		done
	)
	state := make([]int, len(steps))
	var path []int
	var visit func(i int)
	visit = func(i int) {
		state[i] = onPath
		path = append(path, i)
		for j, n := range steps[i].Needs {
			k, found := names[n]
			if !found {
				continue
			}
			switch state[k] {
			case unseen:
				visit(k)
			case onPath:
				var cycle []string
				for _, x := range path[indexOf(path, k):] {
					cycle = append(cycle, steps[x].Name)
				}
				cycle = append(cycle, steps[k].Name)
				r := p.steps[i]
				r.v.Errorf(r.v.item(r.path+".needs", r.file.Needs, j), "cycle: %s", strings.Join(cycle, " -> "))
			}
		}
		path = path[:len(path)-1]
		state[i] = done
	}
	for i := range steps {
		if state[i] == unseen && steps[i].Name != "" {
			visit(i)
		}
	}
}

func indexOf(l []int, x int) int {
	for i, y := range l {
		if y == x {
			return i
		}
	}
	return -1
}
