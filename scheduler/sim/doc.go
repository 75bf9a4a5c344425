// Package sim is `phalanx sim`: a discrete-event simulation of a cluster
// and a workload over the real placement core, scheduler.Schedule, in
// virtual time.
//
// ParseCluster and ParseWorkload read the two input files. They follow the
// rules of job files (internal/yamlfile): unknown fields are errors, every
// problem is reported at once as a jobspec.Errors, each
//
//	cluster.yaml:7: nodes[1].gpus.count: must be >= 0, got -1
//
// and the job embedded in each workload entry is checked by jobspec.Parse
// itself, so it obeys exactly the rules, defaults and units of a job file;
// its problems carry the workload file's lines and the field path below the
// entry ("jobs[2].job.spec.groups[0].task.image: required").
//
// Run plays the workload against the cluster. Virtual time starts at 0 (the
// instant Epoch); an event is a job's arrival, the end of a member's run
// (its duration, cut short at the job's walltime as the leader enforces it),
// or the end of an evicted job's grace period (its tasks' kill_timeout),
// when its resources come free and it goes back to its queue with its
// original submit time. All events of one instant are applied together,
// then, if they could let something new fit (a job arrived or resources
// came free), the core runs one scheduling pass and its plan is applied:
// placements start, evictions begin their grace period. Passes are at
// least Config.Interval of virtual time apart, as the leader batches
// writes; a pass that is due later waits for its instant.
//
// After each step Run checks the invariants the core promises on every
// node and job the step touched: no GPU is held by two allocations, no node
// is over capacity, no gang runs in part, no backfilled job can delay a
// reservation made in the same plan. A broken one is a bug in the core;
// Result.Summary.Violations lists them and must stay empty.
//
// Run is deterministic: the same inputs and Config give the same Result,
// byte for byte once encoded. It reads no clock and draws no random
// numbers.
package sim
