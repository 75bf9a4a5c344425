package jobspec

// The types in this file are the shape of the file users write. Pointers mark
// fields that may be left out, so a default is told apart from an explicit
// zero. Quantities and durations are strings here: yaml.v3 decodes numbers
// into them as written ("8", "0.5"), and validation parses them.

// APIVersion is the only apiVersion a job file may have.
const APIVersion = "phalanx/v1"

// Kind is the only kind a job file may have.
const Kind = "Job"

type jobFile struct {
	APIVersion *string       `yaml:"apiVersion"`
	Kind       *string       `yaml:"kind"`
	Metadata   *metadataFile `yaml:"metadata"`
	Spec       *specFile     `yaml:"spec"`
}

type metadataFile struct {
	Name   *string           `yaml:"name"`
	Labels map[string]string `yaml:"labels"`
}

type specFile struct {
	Queue    *string `yaml:"queue"`
	Priority *int    `yaml:"priority"`
	Gang     *bool   `yaml:"gang"`
	Walltime *string `yaml:"walltime"`
	Network  *string `yaml:"network"`
	// NodeSelector maps label keys to the values a node must have.
	NodeSelector map[string]string `yaml:"node_selector"`
	Groups       []*groupFile      `yaml:"groups"` // pointers: yaml.v3 drops null items of a []struct
}

type groupFile struct {
	Name    *string      `yaml:"name"`
	Count   *int         `yaml:"count"`
	Restart *restartFile `yaml:"restart"`
	Task    *taskFile    `yaml:"task"`
	Spread  *bool        `yaml:"spread"`
}

type restartFile struct {
	Attempts *int `yaml:"attempts"`
}

type taskFile struct {
	Image       *string           `yaml:"image"`
	Command     []string          `yaml:"command"`
	Env         map[string]string `yaml:"env"`
	WorkingDir  *string           `yaml:"working_dir"`
	KillTimeout *string           `yaml:"kill_timeout"`
	Resources   *resourcesFile    `yaml:"resources"`
}

type resourcesFile struct {
	CPU       *string `yaml:"cpu"`
	Memory    *string `yaml:"memory"`
	GPUs      *int    `yaml:"gpus"`
	GPUModel  *string `yaml:"gpu_model"`
	GPUMemory *string `yaml:"gpu_memory"`
}
