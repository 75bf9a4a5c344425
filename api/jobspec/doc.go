// Package jobspec reads the job files users write and turns them into the
// canonical api.JobSpec.
//
// Parse takes the bytes of one file, YAML or JSON, and returns either a
// validated spec with every default applied (queue "default", priority 50,
// count 1, cpu 500m, memory 256Mi, kill_timeout 10s) or an Errors value,
// never both. Errors lists every problem found, sorted by line, each as
//
//	job.yaml:12: spec.groups[0].task.resources.gpus: must be >= 0, got -2
//
// with the file name given to Parse, the 1-based line (0 for a problem with
// the whole file, such as its size), the field path and a message a user can
// act on. A field that is missing is reported on the line of the mapping
// that should hold it. Unknown fields are errors, with a suggestion when a
// known field is within two edits ("did you mean \"image\"?"). A YAML syntax
// error stops parsing and is the only problem reported.
//
// Parse reads nothing but its arguments. It rejects files over MaxFileSize,
// more than one YAML document, mappings of more than 1000 entries and
// documents whose aliases expand too far, so a hostile file costs little.
//
// ParseCPU and ParseBytes parse the quantities job files use ("500m", "1.5",
// "64Gi", "100M"), for config files too. docs/jobspec.md is the reference
// for users.
package jobspec
