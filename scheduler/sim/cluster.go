package sim

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/phalanx-sched/phalanx/api"
	"github.com/phalanx-sched/phalanx/api/jobspec"
	"github.com/phalanx-sched/phalanx/api/queuespec"
	"github.com/phalanx-sched/phalanx/internal/yamlfile"
)

// Limits of the cluster file.
const (
	MaxNodes       = 100_000
	MaxNodeGPUs    = 64
	DefaultGPUName = "GPU"
)

// Cluster is a parsed cluster file: the nodes, every one ready, and the
// queues.
type Cluster struct {
	// Nodes are sorted by ID; a node's ID is its name.
	Nodes []*api.Node
	// Queues are in file order. Empty means the core's default: every
	// queue a job names exists, with weight 1, no quota and no priority
	// cap, and may borrow.
	Queues []api.Queue
}

// The shape of the cluster file. Quantities are strings, as in job files.
type clusterFile struct {
	Nodes  []*nodeFile        `yaml:"nodes"`
	Queues []*queuespec.Entry `yaml:"queues"`
}

type nodeFile struct {
	Name       *string           `yaml:"name"`
	NamePrefix *string           `yaml:"name_prefix"`
	Count      *int              `yaml:"count"`
	CPU        *string           `yaml:"cpu"`
	Memory     *string           `yaml:"memory"`
	GPUs       *gpusFile         `yaml:"gpus"`
	Labels     map[string]string `yaml:"labels"`
}

type gpusFile struct {
	Count         *int    `yaml:"count"`
	Model         *string `yaml:"model"`
	Memory        *string `yaml:"memory"`
	NVLinkDomains [][]int `yaml:"nvlink_domains"`
}

var clusterOptions = yamlfile.Options{
	Want:    "want a cluster: nodes and queues",
	Unit:    "cluster",
	MapWord: "a mapping of names to strings",
}

// ParseCluster reads a cluster file. filename is used only in messages.
// When anything is wrong it returns nil and a jobspec.Errors listing every
// problem, sorted by line.
func ParseCluster(filename string, data []byte) (*Cluster, error) {
	var f clusterFile
	p := &problems{}
	if !p.decode(filename, data, &f, clusterOptions) {
		return nil, p.err()
	}
	c := &Cluster{}
	if len(f.Nodes) == 0 {
		p.Errorf("nodes", "at least one node is required")
	}
	names := map[string]string{} // node name -> field that made it
	for i, n := range f.Nodes {
		if n == nil {
			n = &nodeFile{}
		}
		c.Nodes = append(c.Nodes, p.nodes(index("nodes", i), n, names, len(c.Nodes))...)
	}
	slices.SortFunc(c.Nodes, func(a, b *api.Node) int { return strings.Compare(a.ID, b.ID) })
	if len(f.Queues) > 0 {
		c.Queues = queuespec.CheckAll(p.Checker, "queues", f.Queues)
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	return c, nil
}

// nodes checks one entry of nodes and returns the nodes it makes; have is
// how many the entries before it made.
func (p *problems) nodes(field string, f *nodeFile, names map[string]string, have int) []*api.Node {
	count := p.count(field+".count", f.Count, 1, 1, MaxNodes)
	if have+count > MaxNodes {
		p.Errorf(field+".count", "the cluster would have %d nodes, at most %d", have+count, MaxNodes)
		return nil
	}
	var list []string
	switch {
	case f.Name != nil && f.NamePrefix != nil:
		p.Errorf(field, "set name or name_prefix, not both")
		return nil
	case f.Name != nil:
		if count != 1 {
			p.Errorf(field+".count", "must be 1 with name (use name_prefix for several nodes), got %d", count)
			return nil
		}
		list = []string{*f.Name}
	case f.NamePrefix != nil:
		width := len(strconv.Itoa(count - 1))
		for k := range count {
			list = append(list, fmt.Sprintf("%s-%0*d", *f.NamePrefix, width, k))
		}
	default:
		p.Errorf(field, "name or name_prefix is required")
		return nil
	}
	nameField := field + ".name"
	if f.NamePrefix != nil {
		nameField = field + ".name_prefix"
	}
	for _, name := range list {
		if !jobspec.ValidName(name) {
			p.Errorf(nameField, "node names must be DNS labels (lowercase letters, digits and '-', at most 63 characters), got %s", yamlfile.Quote(name))
			return nil
		}
		if prev, dup := names[name]; dup {
			p.Errorf(nameField, "node %s is already defined by %s", name, prev)
			return nil
		}
		names[name] = field
	}
	var res api.Resources
	if f.CPU == nil {
		p.Errorf(field+".cpu", "required")
	} else {
		res.CPUMilli = p.Quantity(field+".cpu", *f.CPU, jobspec.ParseCPU)
	}
	if f.Memory == nil {
		p.Errorf(field+".memory", "required")
	} else {
		res.MemoryBytes = p.Quantity(field+".memory", *f.Memory, jobspec.ParseBytes)
	}
	for k := range f.Labels {
		if k == "" {
			p.Errorf(field+".labels", "label names must not be empty")
		}
	}
	gpus := p.gpus(field+".gpus", f.GPUs)
	res.GPUs = len(gpus)
	out := make([]*api.Node, len(list))
	for k, name := range list {
		n := &api.Node{ID: name, Name: name, Status: api.NodeReady, Runtime: "sim", Resources: res, Ports: api.DefaultPorts}
		if len(f.Labels) > 0 {
			n.Labels = f.Labels
		}
		n.GPUs = make([]api.GPU, len(gpus))
		for g := range gpus {
			n.GPUs[g] = gpus[g]
			n.GPUs[g].UUID = fmt.Sprintf("GPU-%s-%d", name, g)
		}
		out[k] = n
	}
	return out
}

// gpus checks a node entry's gpus and returns the GPUs of one such node,
// without UUIDs.
func (p *problems) gpus(field string, f *gpusFile) []api.GPU {
	if f == nil {
		return nil
	}
	count := p.count(field+".count", f.Count, 0, 0, MaxNodeGPUs)
	model := DefaultGPUName
	if f.Model != nil {
		model = *f.Model
		if model == "" {
			p.Errorf(field+".model", "must not be empty")
		}
	}
	var mem int64
	if f.Memory != nil {
		mem = p.Quantity(field+".memory", *f.Memory, jobspec.ParseBytes)
	}
	out := make([]api.GPU, count)
	for i := range out {
		out[i] = api.GPU{Index: i, Model: model, MemoryBytes: mem, Healthy: true}
	}
	domainOf := map[int]string{}
	for d, domain := range f.NVLinkDomains {
		df := index(field+".nvlink_domains", d)
		for j, g := range domain {
			gf := index(df, j)
			switch {
			case g < 0 || g >= count:
				p.Errorf(gf, "GPU index %d is not on the node: it has %d GPUs (0-%d)", g, count, count-1)
				continue
			case domainOf[g] != "":
				p.Errorf(gf, "GPU %d is already in %s; a GPU is in one NVLink domain", g, domainOf[g])
				continue
			}
			domainOf[g] = df
			for _, peer := range domain {
				if peer != g && peer >= 0 && peer < count {
					out[g].NVLinkPeers = append(out[g].NVLinkPeers, peer)
				}
			}
		}
	}
	for i := range out {
		slices.Sort(out[i].NVLinkPeers)
		out[i].NVLinkPeers = slices.Compact(out[i].NVLinkPeers)
	}
	return out
}
