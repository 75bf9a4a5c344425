package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/phalanx-sched/phalanx/scheduler"
	"github.com/phalanx-sched/phalanx/scheduler/sim"
)

// cmdSim is `phalanx sim`: the scheduling core over a cluster and a
// workload file, in virtual time (docs/sim.md).
func cmdSim(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("sim", stderr)
	clusterFile := fs.String("cluster", "", "cluster file: nodes and queues (required)")
	workloadFile := fs.String("workload", "", "workload file: jobs with submit_at, duration and job (required)")
	policy := fs.String("policy", string(scheduler.PolicyFair), "scheduling policy: fair or fifo")
	cfg := sim.DefaultConfig()
	fs.DurationVar(&cfg.Interval, "interval", cfg.Interval, "least virtual time between two scheduling passes (0: a pass at every instant something changed)")
	fs.IntVar(&cfg.PreemptionGap, "preemption-gap", 0, "priority points a job must be above one of its queue to preempt it (0: the core's default, 10; <0: no preemption within a queue)")
	_, out, err := parseRead(fs, args, 0, 0, "no arguments")
	if err != nil {
		return err
	}
	if *clusterFile == "" || *workloadFile == "" {
		return fmt.Errorf("sim needs --cluster and --workload: %w", errUsage)
	}
	p, err := scheduler.ParsePolicy(*policy)
	if err != nil {
		return fmt.Errorf("--policy: %v: %w", err, errUsage)
	}
	cfg.Policy = p
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("%v: %w", err, errUsage)
	}
	c, w, err := readSimFiles(*clusterFile, *workloadFile)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitCode(1)
	}
	res, err := sim.Run(c, w, cfg)
	if err != nil {
		return err
	}
	if out.format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return err
		}
	} else if err := res.WriteText(stdout); err != nil {
		return err
	}
	if len(res.Summary.Violations) > 0 {
		return exitCode(3)
	}
	return nil
}

// readSimFiles reads and checks the two input files, reporting every
// problem of both.
func readSimFiles(clusterFile, workloadFile string) (*sim.Cluster, *sim.Workload, error) {
	cb, err := os.ReadFile(clusterFile)
	if err != nil {
		return nil, nil, err
	}
	wb, err := os.ReadFile(workloadFile)
	if err != nil {
		return nil, nil, err
	}
	c, cerr := sim.ParseCluster(clusterFile, cb)
	w, werr := sim.ParseWorkload(workloadFile, wb)
	switch {
	case cerr != nil && werr != nil:
		return nil, nil, fmt.Errorf("%v\n%v", cerr, werr)
	case cerr != nil:
		return nil, nil, cerr
	case werr != nil:
		return nil, nil, werr
	}
	if err := sim.CheckQueues(c, w); err != nil {
		return nil, nil, err
	}
	return c, w, nil
}
