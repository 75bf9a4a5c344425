// Package pipeline turns a repository's .phalanx.yml into a DAG of jobs:
// parse, lint, compile, with no IO, no clock and no randomness.
//
// Parse (or ParseWithIncludes, which is given a function to read included
// files) returns a validated Spec, with every default applied, or a
// jobspec.Errors listing every problem found, sorted, each as
//
//	.phalanx.yml:12: steps[2].needs[0]: cycle: build -> test -> build
//
// Lint returns advice about a valid Spec. Triggered says whether an Event
// starts the pipeline, and Compile turns a Spec and an Event into a DAG:
// which steps run, in what order, each as the api.JobSpec to submit with the
// environment it gets.
//
// Cloning, webhooks, secrets and running the DAG live elsewhere; this
// package only reads its arguments. docs/pipelines.md is the reference for
// users.
package pipeline
