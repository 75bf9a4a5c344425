package jobspec

import (
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"
	"time"
	"unicode"

	"github.com/phalanx-sched/phalanx/api"
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
)

// ValidName reports whether s is a DNS label: lowercase letters, digits and
// '-', starting and ending with a letter or digit, at most 63 characters.
// Job, queue and group names are DNS labels.
func ValidName(s string) bool {
	return len(s) <= 63 && dnsLabel.MatchString(s)
}

// validator checks a decoded file and builds its canonical form.
type validator struct {
	file  string
	lines map[string]int  // from the tree walk
	bad   map[string]bool // paths the tree walk already reported
	errs  Errors
}

// errorf reports a problem at a field path, on the line of the field or,
// when the file has none, of the nearest enclosing one. It says nothing about
// a path at or below one whose value could not be decoded.
func (v *validator) errorf(field, format string, args ...any) {
	line := -1
	for p := field; ; p = parent(p) {
		if v.bad[p] {
			return
		}
		if l, ok := v.lines[p]; ok && line < 0 {
			line = l
		}
		if p == "" {
			break
		}
	}
	v.errs = append(v.errs, Error{File: v.file, Line: max(line, 0), Field: field, Msg: fmt.Sprintf(format, args...)})
}

// parent strips the last element of a field path: "a.b[2]" gives "a.b".
func parent(p string) string {
	if strings.HasSuffix(p, "\"]") {
		if i := strings.LastIndex(p, "[\""); i >= 0 {
			return p[:i]
		}
	}
	if i := strings.LastIndexAny(p, ".["); i >= 0 {
		return p[:i]
	}
	return ""
}

func (v *validator) job(f *jobFile) *api.JobSpec {
	v.exact("apiVersion", f.APIVersion, APIVersion)
	v.exact("kind", f.Kind, Kind)
	spec := &api.JobSpec{Queue: DefaultQueue, Priority: DefaultPriority}
	if f.Metadata == nil {
		v.errorf("metadata", "required, with at least a name")
	} else {
		spec.Name = v.name("metadata.name", f.Metadata.Name)
		spec.Labels = copyMap(f.Metadata.Labels)
	}
	s := f.Spec
	if s == nil {
		v.errorf("spec", "required, with at least one group")
		return spec
	}
	if s.Queue != nil {
		spec.Queue = *s.Queue
		v.dnsLabel("spec.queue", *s.Queue)
	}
	if s.Priority != nil {
		spec.Priority = *s.Priority
		v.between("spec.priority", spec.Priority, 0, MaxPriority)
	}
	if s.Gang != nil {
		spec.Gang = *s.Gang
	}
	if s.Walltime != nil {
		spec.Walltime = api.Duration(v.duration("spec.walltime", *s.Walltime, 0))
	}
	if len(s.Groups) == 0 {
		v.errorf("spec.groups", "at least one group is required")
	}
	seen := map[string]string{}
	for i, g := range s.Groups {
		if g == nil {
			g = &groupFile{}
		}
		spec.Groups = append(spec.Groups, v.group(fmt.Sprintf("spec.groups[%d]", i), g, seen))
	}
	spec.Network = defaultNetwork(spec)
	if s.Network != nil {
		switch *s.Network {
		case api.NetworkHost, api.NetworkBridge:
			spec.Network = *s.Network
		default:
			v.errorf("spec.network", "must be %s or %s, got %s", api.NetworkHost, api.NetworkBridge, quote(*s.Network))
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
		v.errorf(p+".name", "group name %s is already used by %s; group names must be unique within a job", quote(out.Name), first)
	} else {
		seen[out.Name] = p
	}
	if g.Count != nil {
		out.Count = *g.Count
		v.between(p+".count", out.Count, 1, MaxCount)
	}
	if g.Restart != nil && g.Restart.Attempts != nil {
		out.Restart.Attempts = *g.Restart.Attempts
		v.between(p+".restart.attempts", out.Restart.Attempts, 0, MaxAttempts)
	}
	if g.Task == nil {
		v.errorf(p+".task", "required")
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
		v.errorf(p+".image", "required")
	case strings.IndexFunc(*t.Image, unicode.IsSpace) >= 0:
		v.errorf(p+".image", "must not contain whitespace, got %s", quote(*t.Image))
	}
	if t.Image != nil {
		out.Image = *t.Image
	}
	for _, k := range sortedKeys(t.Env) {
		switch {
		case !envName.MatchString(k):
			v.errorf(join(p+".env", k), "not a valid variable name: want letters, digits and '_', not starting with a digit")
		case strings.HasPrefix(k, ReservedEnvPrefix):
			v.errorf(join(p+".env", k), "reserved: Phalanx sets the %s* variables itself", ReservedEnvPrefix)
		}
	}
	if t.WorkingDir != nil {
		out.WorkingDir = *t.WorkingDir
		if !strings.HasPrefix(out.WorkingDir, "/") {
			v.errorf(p+".working_dir", "must be an absolute path, got %s", quote(out.WorkingDir))
		}
	}
	if t.KillTimeout != nil {
		out.KillTimeout = api.Duration(v.duration(p+".kill_timeout", *t.KillTimeout, MaxKillTimeout))
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
		out.CPUMilli = v.quantity(p+".cpu", *r.CPU, ParseCPU)
	}
	if r.Memory != nil {
		out.MemoryBytes = v.quantity(p+".memory", *r.Memory, ParseBytes)
	}
	if r.GPUs != nil {
		out.GPUs = *r.GPUs
		v.between(p+".gpus", out.GPUs, 0, MaxGPUs)
	}
	if r.GPUModel != nil {
		out.GPUModel = *r.GPUModel
		if _, err := path.Match(out.GPUModel, ""); err != nil || out.GPUModel == "" {
			v.errorf(p+".gpu_model", "must be a glob such as \"*H100*\" (path.Match syntax), got %s", quote(out.GPUModel))
		} else if out.GPUs <= 0 {
			v.errorf(p+".gpu_model", "only meaningful with gpus > 0")
		}
	}
	if r.GPUMemory != nil {
		if b, err := ParseBytes(*r.GPUMemory); err != nil {
			v.errorf(p+".gpu_memory", "%v", err)
		} else {
			out.GPUMemoryBytes = b
			if out.GPUs <= 0 {
				v.errorf(p+".gpu_memory", "only meaningful with gpus > 0")
			}
		}
	}
	return out
}

// quantity parses a CPU or byte quantity that must be more than 0.
func (v *validator) quantity(p, s string, parse func(string) (int64, error)) int64 {
	n, err := parse(s)
	switch {
	case err != nil:
		v.errorf(p, "%v", err)
	case n <= 0:
		v.errorf(p, "must be > 0, got %s", quote(s))
	}
	return n
}

// duration parses a duration that must be more than 0 and, unless limit is
// 0, at most limit.
func (v *validator) duration(p, s string, limit time.Duration) time.Duration {
	d, err := time.ParseDuration(s)
	switch {
	case err != nil:
		v.errorf(p, "must be a duration such as \"90s\", \"30m\" or \"2h\", got %s", quote(s))
	case d <= 0:
		v.errorf(p, "must be > 0, got %s", quote(s))
	case limit > 0 && d > limit:
		v.errorf(p, "must be <= %s, got %s", limit, quote(s))
	}
	return d
}

func (v *validator) exact(p string, got *string, want string) {
	switch {
	case got == nil:
		v.errorf(p, "required, must be %q", want)
	case *got != want:
		v.errorf(p, "must be %q, got %s", want, quote(*got))
	}
}

// name checks a required DNS label.
func (v *validator) name(p string, s *string) string {
	if s == nil || *s == "" {
		v.errorf(p, "required")
		return ""
	}
	v.dnsLabel(p, *s)
	return *s
}

func (v *validator) dnsLabel(p, s string) {
	if !ValidName(s) {
		v.errorf(p, "must be a DNS label (lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters), got %s", quote(s))
	}
}

func (v *validator) between(p string, n, lo, hi int) {
	switch {
	case n < lo:
		v.errorf(p, "must be >= %d, got %d", lo, n)
	case n > hi:
		v.errorf(p, "must be <= %d, got %d", hi, n)
	}
}

func copyMap(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
