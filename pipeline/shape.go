package pipeline

import (
	"gopkg.in/yaml.v3"
)

// The types in this file are the shape of the .phalanx.yml users write.
// Pointers mark fields that may be left out, so a default is told apart
// from an explicit zero. Quantities and durations are strings here; the
// validator parses them.

// pipelineFile is the top level of the pipeline file.
type pipelineFile struct {
	Version     *int              `yaml:"version"`
	On          *onFile           `yaml:"on"`
	Queue       *string           `yaml:"queue"`
	Priority    *int              `yaml:"priority"`
	Env         map[string]string `yaml:"env"`
	Concurrency *concurrencyFile  `yaml:"concurrency"`
	Include     stringList        `yaml:"include"`
	Defaults    *defaultsFile     `yaml:"defaults"`
	Steps       []*stepFile       `yaml:"steps"` // pointers: yaml.v3 drops null items of a []struct
}

// includeFile is the top level of a file named by include: it contributes
// steps and defaults, and may include further files.
type includeFile struct {
	Include  stringList    `yaml:"include"`
	Defaults *defaultsFile `yaml:"defaults"`
	Steps    []*stepFile   `yaml:"steps"`
}

type onFile struct {
	Push        *pushFile        `yaml:"push"`
	Tag         stringList       `yaml:"tag"`
	PullRequest *pullRequestFile `yaml:"pull_request"`
}

type pushFile struct {
	Branches stringList `yaml:"branches"`
	Paths    stringList `yaml:"paths"`
}

type pullRequestFile struct {
	Branches stringList `yaml:"branches"`
}

type concurrencyFile struct {
	Group            *string `yaml:"group"`
	CancelInProgress *bool   `yaml:"cancel_in_progress"`
}

type defaultsFile struct {
	Image     *string           `yaml:"image"`
	Resources *resourcesFile    `yaml:"resources"`
	Env       map[string]string `yaml:"env"`
	Timeout   *string           `yaml:"timeout"`
	Retry     *retryFile        `yaml:"retry"`
}

type stepFile struct {
	Name      *string               `yaml:"name"`
	Image     *string               `yaml:"image"`
	Commands  stringList            `yaml:"commands"`
	Needs     stringList            `yaml:"needs"`
	When      *whenFile             `yaml:"when"`
	Matrix    map[string]stringList `yaml:"matrix"`
	Retry     *retryFile            `yaml:"retry"`
	Timeout   *string               `yaml:"timeout"`
	Resources *resourcesFile        `yaml:"resources"`
	Secrets   stringList            `yaml:"secrets"`
	Env       map[string]string     `yaml:"env"`
}

type whenFile struct {
	Branch stringList `yaml:"branch"`
	Event  stringList `yaml:"event"`
	Paths  stringList `yaml:"paths"`
	Status stringList `yaml:"status"`
}

type retryFile struct {
	Attempts    *int  `yaml:"attempts"`
	OnExitCodes []int `yaml:"on_exit_codes"`
}

type resourcesFile struct {
	CPU    *string `yaml:"cpu"`
	Memory *string `yaml:"memory"`
	GPUs   *int    `yaml:"gpus"`
}

// stringList is a list of strings that may also be written as one string:
// "branch: main" is "branch: [main]".
type stringList []string

// UnmarshalYAML reads a scalar as a one-element list.
func (l *stringList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*l = stringList{n.Value}
		return nil
	}
	var s []string
	if err := n.Decode(&s); err != nil {
		return err
	}
	*l = s
	return nil
}
