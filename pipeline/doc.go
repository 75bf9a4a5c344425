// Package pipeline will turn a repository's .phalanx.yml into a DAG of
// jobs triggered by git pushes (parse -> lint -> compile, with no IO).
// It is empty until the pipelines issue; nothing imports it yet.
package pipeline
