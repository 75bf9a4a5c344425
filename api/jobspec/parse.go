package jobspec

import (
	"github.com/phalanx-sched/phalanx/api"
	"github.com/phalanx-sched/phalanx/internal/yamlfile"
)

// MaxFileSize is the largest job file Parse reads: 1 MiB.
const MaxFileSize = yamlfile.MaxFileSize

// decodeOptions say how a job file is read.
var decodeOptions = yamlfile.Options{
	Want:    "want a job: apiVersion, kind, metadata and spec",
	Unit:    "job",
	MapWord: "a mapping of names to strings",
}

// Parse reads a job file (YAML, or JSON, which is YAML) and returns its
// validated canonical form. filename is used only in error messages.
//
// When anything is wrong, Parse returns nil and an Errors listing every
// problem it found, sorted by line.
func Parse(filename string, data []byte) (*api.JobSpec, error) {
	var f jobFile
	fields, problems := yamlfile.Decode(filename, data, &f, decodeOptions)
	v := &validator{}
	for _, p := range problems {
		v.report(p)
	}
	if fields == nil {
		return nil, v.sorted()
	}
	v.Checker = yamlfile.Checker{Fields: fields, Report: v.report}
	spec := v.job(&f)
	if len(v.errs) > 0 {
		return nil, v.sorted()
	}
	return spec, nil
}
