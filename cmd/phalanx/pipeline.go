package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/phalanx-sched/phalanx/pipeline"
)

func cmdPipeline(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("pipeline needs a subcommand (lint, run, list, status, logs, cancel): %w", errUsage)
	}
	if args[0] != "lint" {
		return pipelineRuns(args[0], args[1:], stdout, stderr)
	}
	fs := newFlags("pipeline lint", stderr)
	branch := fs.String("branch", "", "also show which steps a push to this branch runs, in order")
	pos, err := parse(fs, args[1:], 1, 1, "a pipeline file (.phalanx.yml)")
	if err != nil {
		return err
	}
	file := pos[0]
	b, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	// include: paths are relative to the repository root, the file's
	// directory.
	root := filepath.Dir(file)
	spec, err := pipeline.ParseWithIncludes(file, b, func(p string) ([]byte, error) {
		return os.ReadFile(filepath.Join(root, p))
	})
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitCode(1)
	}
	for _, w := range pipeline.Lint(spec) {
		fmt.Fprintf(stdout, "warning: %s\n", w)
	}
	fmt.Fprintf(stdout, "%s: ok: %d steps\n", file, len(spec.Steps))
	if *branch == "" {
		return nil
	}
	dag, err := pipeline.Compile(spec, pipeline.Event{Kind: pipeline.EventPush, Branch: *branch, Ref: "refs/heads/" + *branch}, pipeline.Options{MaxPriority: 100})
	if errors.Is(err, pipeline.ErrNotTriggered) {
		fmt.Fprintf(stdout, "a push to %s runs nothing: %v\n", *branch, err)
		return nil
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "a push to %s runs, in order:\n", *branch)
	for _, s := range dag.Steps {
		needs := ""
		if len(s.Needs) > 0 {
			needs = " (after " + strings.Join(s.Needs, ", ") + ")"
		}
		fmt.Fprintf(stdout, "  %s%s\n", s.Name, needs)
	}
	for _, s := range dag.Skipped {
		fmt.Fprintf(stdout, "  skipped %s: %s\n", s.Step, s.Reason)
	}
	return nil
}
