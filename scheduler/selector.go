package scheduler

import (
	"maps"
	"slices"
	"strings"

	"github.com/phalanx-sched/phalanx/api"
)

// selection is the nodes a node_selector allows, resolved once per
// distinct selector per Schedule call.
type selection struct {
	// text is the selector as reasons show it: "pool=train, zone=a",
	// keys sorted.
	text  string
	match []bool // by node position
	nodes []int  // the matching positions, sorted
}

// selectionFor resolves sel against the cluster's nodes; nil for an
// empty selector.
func (c *cluster) selectionFor(sel map[string]string, cache map[string]*selection) *selection {
	if len(sel) == 0 {
		return nil
	}
	keys := slices.Sorted(maps.Keys(sel))
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(k + "=" + sel[k])
	}
	text := b.String()
	if s, ok := cache[text]; ok {
		return s
	}
	s := &selection{text: text, match: make([]bool, len(c.nodes))}
	for i := range c.nodes {
		if selectorMatches(sel, keys, c.nodes[i].node) {
			s.match[i] = true
			s.nodes = append(s.nodes, i)
		}
	}
	cache[text] = s
	return s
}

// selectorMatches reports whether node n has every pair of sel among its
// labels; the reserved key api.NodeSelectorNode matches the node's ID or
// Name.
func selectorMatches(sel map[string]string, keys []string, n *api.Node) bool {
	for _, k := range keys {
		v := sel[k]
		if k == api.NodeSelectorNode {
			if n.ID != v && n.Name != v {
				return false
			}
			continue
		}
		if got, ok := n.Labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}
