package jobspec

import (
	"fmt"
	"maps"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/phalanx-sched/phalanx/api"
	"github.com/phalanx-sched/phalanx/internal/yamlfile"
)

// Defaults and limits of the job file; docs/jobspec.md lists them for users.
const (
	DefaultQueue       = "default"
	DefaultPriority    = 50
	DefaultCount       = 1
	DefaultCPUMilli    = 500
	DefaultMemoryBytes = 256 << 20
	DefaultKillTimeout = 10 * time.Second

	MaxPriority    = 100
	MaxCount       = 10000
	MaxAttempts    = 100
	MaxGPUs        = 64
	MaxKillTimeout = time.Hour
)

// ReservedEnvPrefix starts the names of the variables Phalanx sets itself.
const ReservedEnvPrefix = "PHALANX_"

var (
	dnsLabel = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`)
	envName  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	// A label key is an optional DNS-name prefix and '/', then a name of
	// letters, digits, '-', '_' and '.'; a label value is such a name.
	labelKey   = regexp.MustCompile(`^([a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?/)?[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$`)
	labelValue = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$`)
)

// ReservedLabelPrefix starts the node_selector keys Phalanx defines
// itself; api.NodeSelectorNode is the only one so far.
const ReservedLabelPrefix = "phalanx.io/"

// ValidName reports whether s is a DNS label: lowercase letters, digits and
// '-', starting and ending with a letter or digit, at most 63 characters.
// Job, queue and group names are DNS labels.
func ValidName(s string) bool {
	return len(s) <= 63 && dnsLabel.MatchString(s)
}

// validator checks a decoded file and builds its canonical form.
type validator struct {
	yamlfile.Checker
	errs Errors
}

// report adds a problem found in the file.
func (v *validator) report(p yamlfile.Problem) {
	v.errs = append(v.errs, Error{File: p.File, Line: p.Line, Field: p.Field, Msg: p.Msg})
}

// sorted returns the problems found, sorted by line.
func (v *validator) sorted() Errors {
	v.errs.sortByLine()
	return v.errs
}

func (v *validator) job(f *jobFile) *api.JobSpec {
	v.exact("apiVersion", f.APIVersion, APIVersion)
	v.exact("kind", f.Kind, Kind)
	spec := &api.JobSpec{Queue: DefaultQueue, Priority: DefaultPriority}
	if f.Metadata == nil {
		v.Errorf("metadata", "required, with at least a name")
	} else {
		spec.Name = v.name("metadata.name", f.Metadata.Name)
		spec.Labels = copyMap(f.Metadata.Labels)
	}
	s := f.Spec
	if s == nil {
		v.Errorf("spec", "required, with at least one group")
		return spec
	}
	if s.Queue != nil {
		spec.Queue = *s.Queue
		v.dnsLabel("spec.queue", *s.Queue)
	}
	if s.Priority != nil {
		spec.Priority = *s.Priority
		v.Between("spec.priority", spec.Priority, 0, MaxPriority)
	}
	if s.Gang != nil {
		spec.Gang = *s.Gang
	}
	if s.Walltime != nil {
		spec.Walltime = api.Duration(v.Duration("spec.walltime", *s.Walltime, 0))
	}
	if len(s.Groups) == 0 {
		v.Errorf("spec.groups", "at least one group is required")
	}
	seen := map[string]string{}
	for i, g := range s.Groups {
		if g == nil {
			g = &groupFile{}
		}
		spec.Groups = append(spec.Groups, v.group(fmt.Sprintf("spec.groups[%d]", i), g, seen))
	}
	spec.NodeSelector = v.nodeSelector("spec.node_selector", s.NodeSelector)
	spec.Network = defaultNetwork(spec)
	if s.Network != nil {
		switch *s.Network {
		case api.NetworkHost, api.NetworkBridge:
			spec.Network = *s.Network
		default:
			v.Errorf("spec.network", "must be %s or %s, got %s", api.NetworkHost, api.NetworkBridge, yamlfile.Quote(*s.Network))
		}
	}
	return spec
}

// defaultNetwork is host networking for a gang of more than one member
// (what NCCL and torchrun want) and bridge otherwise.
func defaultNetwork(spec *api.JobSpec) string {
	members := 0
	for _, g := range spec.Groups {
		members += g.Count
	}
	if spec.Gang && members > 1 {
		return api.NetworkHost
	}
	return api.NetworkBridge
}

func (v *validator) group(p string, g *groupFile, seen map[string]string) api.Group {
	out := api.Group{Name: v.name(p+".name", g.Name), Count: DefaultCount}
	if first, dup := seen[out.Name]; dup && out.Name != "" {
		v.Errorf(p+".name", "group name %s is already used by %s; group names must be unique within a job", yamlfile.Quote(out.Name), first)
	} else {
		seen[out.Name] = p
	}
	if g.Count != nil {
		out.Count = *g.Count
		v.Between(p+".count", out.Count, 1, MaxCount)
	}
	if g.Restart != nil && g.Restart.Attempts != nil {
		out.Restart.Attempts = *g.Restart.Attempts
		v.Between(p+".restart.attempts", out.Restart.Attempts, 0, MaxAttempts)
	}
	if g.Spread != nil {
		out.Spread = *g.Spread
	}
	if g.Task == nil {
		v.Errorf(p+".task", "required")
		return out
	}
	out.Task = v.task(p+".task", g.Task)
	return out
}

func (v *validator) task(p string, t *taskFile) api.Task {
	out := api.Task{
		Command:     append([]string(nil), t.Command...),
		Env:         copyMap(t.Env),
		KillTimeout: api.Duration(DefaultKillTimeout),
	}
	switch {
	case t.Image == nil || *t.Image == "":
		v.Errorf(p+".image", "required")
	case strings.IndexFunc(*t.Image, unicode.IsSpace) >= 0:
		v.Errorf(p+".image", "must not contain whitespace, got %s", yamlfile.Quote(*t.Image))
	}
	if t.Image != nil {
		out.Image = *t.Image
	}
	for _, k := range slices.Sorted(maps.Keys(t.Env)) {
		switch {
		case !envName.MatchString(k):
			v.Errorf(yamlfile.Join(p+".env", k), "not a valid variable name: want letters, digits and '_', not starting with a digit")
		case strings.HasPrefix(k, ReservedEnvPrefix):
			v.Errorf(yamlfile.Join(p+".env", k), "reserved: Phalanx sets the %s* variables itself", ReservedEnvPrefix)
		}
	}
	if t.WorkingDir != nil {
		out.WorkingDir = *t.WorkingDir
		if !strings.HasPrefix(out.WorkingDir, "/") {
			v.Errorf(p+".working_dir", "must be an absolute path, got %s", yamlfile.Quote(out.WorkingDir))
		}
	}
	if t.KillTimeout != nil {
		out.KillTimeout = api.Duration(v.Duration(p+".kill_timeout", *t.KillTimeout, MaxKillTimeout))
	}
	r := t.Resources
	if r == nil {
		r = &resourcesFile{}
	}
	out.Resources = v.resources(p+".resources", r)
	return out
}

func (v *validator) resources(p string, r *resourcesFile) api.Resources {
	out := api.Resources{CPUMilli: DefaultCPUMilli, MemoryBytes: DefaultMemoryBytes}
	if r.CPU != nil {
		out.CPUMilli = v.Quantity(p+".cpu", *r.CPU, ParseCPU)
	}
	if r.Memory != nil {
		out.MemoryBytes = v.Quantity(p+".memory", *r.Memory, ParseBytes)
	}
	if r.GPUs != nil {
		out.GPUs = *r.GPUs
		v.Between(p+".gpus", out.GPUs, 0, MaxGPUs)
	}
	if r.GPUModel != nil {
		out.GPUModel = *r.GPUModel
		if _, err := path.Match(out.GPUModel, ""); err != nil || out.GPUModel == "" {
			v.Errorf(p+".gpu_model", "must be a glob such as \"*H100*\" (path.Match syntax), got %s", yamlfile.Quote(out.GPUModel))
		} else if out.GPUs <= 0 {
			v.Errorf(p+".gpu_model", "only meaningful with gpus > 0")
		}
	}
	if r.GPUMemory != nil {
		if b, err := ParseBytes(*r.GPUMemory); err != nil {
			v.Errorf(p+".gpu_memory", "%v", err)
		} else {
			out.GPUMemoryBytes = b
			if out.GPUs <= 0 {
				v.Errorf(p+".gpu_memory", "only meaningful with gpus > 0")
			}
		}
	}
	return out
}

// nodeSelector checks label keys and values; the reserved key
// api.NodeSelectorNode takes a node's ID or name.
func (v *validator) nodeSelector(p string, sel map[string]string) map[string]string {
	for _, k := range slices.Sorted(maps.Keys(sel)) {
		f := yamlfile.Join(p, k)
		switch {
		case k == api.NodeSelectorNode:
		case strings.HasPrefix(k, ReservedLabelPrefix):
			v.Errorf(f, "reserved: the only %s* key is %s, which pins the job to the node with that ID or name", ReservedLabelPrefix, api.NodeSelectorNode)
			continue
		case !labelKey.MatchString(k):
			v.Errorf(f, "not a valid label key: want an optional DNS prefix and '/', then up to 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit")
			continue
		}
		if !labelValue.MatchString(sel[k]) {
			v.Errorf(f, "not a valid label value: want up to 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit, got %s", yamlfile.Quote(sel[k]))
		}
	}
	return copyMap(sel)
}

func (v *validator) exact(p string, got *string, want string) {
	switch {
	case got == nil:
		v.Errorf(p, "required, must be %q", want)
	case *got != want:
		v.Errorf(p, "must be %q, got %s", want, yamlfile.Quote(*got))
	}
}

// name checks a required DNS label.
func (v *validator) name(p string, s *string) string {
	if s == nil || *s == "" {
		v.Errorf(p, "required")
		return ""
	}
	v.dnsLabel(p, *s)
	return *s
}

func (v *validator) dnsLabel(p, s string) {
	if !ValidName(s) {
		v.Errorf(p, "must be a DNS label (lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters), got %s", yamlfile.Quote(s))
	}
}

// copyMap returns a copy of m, or nil when m is empty.
func copyMap(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return maps.Clone(m)
}
