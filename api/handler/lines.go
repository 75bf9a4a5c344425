package handler

import (
	"strings"

	"gopkg.in/yaml.v3"
)

// lineOf returns the line of a dotted field ("spec.queue") in a YAML
// document, or of its deepest parent that is there; 0 if none is.
func lineOf(data []byte, field string) int {
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil {
		return 0
	}
	n := &doc
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line := 0
	for _, key := range strings.Split(field, ".") {
		if n.Kind != yaml.MappingNode {
			return line
		}
		next := (*yaml.Node)(nil)
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				line, next = n.Content[i].Line, n.Content[i+1]
				break
			}
		}
		if next == nil {
			return line
		}
		n = next
	}
	return line
}
