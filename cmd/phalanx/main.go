// Command phalanx is the one binary of Phalanx: server, agent, a
// one-process dev cluster, and the CLI that talks to them.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
)

const usage = `phalanx: a gang-scheduling batch and CI scheduler

Usage:
  phalanx dev [--data-dir D] [--http-addr A] [--runtime auto|docker|exec] [--gpus none|mock:dgxa100|nvml]
                                      one-process cluster: server + embedded executor
  phalanx server [--config F] [flags]  a control-plane server
  phalanx agent [--config F] [flags]   an executor agent
  phalanx job run FILE [--wait]        submit a job (YAML); --wait follows it and exits 0 only on success
  phalanx job validate FILE            check a job file without submitting it
  phalanx job status ID [-o json]      a job and its allocations
  phalanx job list [-o json]           every job
  phalanx job logs ID [-f] [--alloc A] a job's output (default: its first member)
  phalanx job cancel ID                cancel a job
  phalanx node list [-o json]          executor nodes
  phalanx node status NODE [-o json]   a node: resources, GPUs with health and holders
  phalanx node drain NODE [--deadline D]  no new work there; what runs after D moves elsewhere
  phalanx node eligible NODE           undo a drain
  phalanx node recover-gpu NODE GPU    put a GPU marked unhealthy back into service
  phalanx queue apply FILE            create or update the queues a file lists (name, weight, quota, max_priority, borrow)
  phalanx queue list [-o json]         queues: settings, running and queued jobs, what they hold against their quota
  phalanx queue delete NAME            remove a queue no active job uses
  phalanx pipeline lint FILE [--branch B]  check a .phalanx.yml (and show what a push to B runs)
  phalanx pipeline run REPO [--ref REF] start a run of a repo's branch, tag or commit
  phalanx pipeline list [--repo R] [-o json]  pipeline runs
  phalanx pipeline status RUN [-o json]  a run: each step's state, duration, node, exit code
  phalanx pipeline logs RUN STEP [-f]  a step's output
  phalanx pipeline cancel RUN          cancel a run and stop its steps
  phalanx repo add NAME --url URL [--webhook-secret-file F] [--token-file F] [--queue Q] [--allow-pr-secrets]
                                      register a repo whose pushes run .phalanx.yml
  phalanx repo list [-o json] | remove NAME
  phalanx secret set NAME --repo R --from-file F  a secret for the steps that list it
  phalanx secret list --repo R [-o json] | remove NAME --repo R
  phalanx sim --cluster C --workload W [--policy fair|fifo] [--interval D] [-o json]
                                      the scheduler over a cluster and a workload file, in virtual time
  phalanx gpu list [--gpus KIND]       GPUs this host's discovery finds
  phalanx operator raft peers | remove-peer ID | transfer-leader [ID]
  phalanx operator snapshot save FILE | restore FILE
  phalanx version

Client commands talk to $PHALANX_ADDR (default 127.0.0.1:7400; several
servers separated by commas), or --addr.
Run 'phalanx COMMAND -h' for a command's flags.
`

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// errUsage marks a command line that was wrong; run exits 2 for it.
var errUsage = errors.New("usage")

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, usage)
		return 0
	}
	var err error
	switch args[0] {
	case "dev":
		err = cmdDev(args[1:], stdout, stderr)
	case "server":
		err = cmdServer(args[1:], stdout, stderr)
	case "agent":
		err = cmdAgent(args[1:], stdout, stderr)
	case "job":
		err = cmdJob(args[1:], stdout, stderr)
	case "node":
		err = cmdNode(args[1:], stdout, stderr)
	case "queue":
		err = cmdQueue(args[1:], stdout, stderr)
	case "gpu":
		err = cmdGPU(args[1:], stdout, stderr)
	case "operator":
		err = cmdOperator(args[1:], stdout, stderr)
	case "pipeline":
		err = cmdPipeline(args[1:], stdout, stderr)
	case "repo":
		err = cmdRepo(args[1:], stdout, stderr)
	case "secret":
		err = cmdSecret(args[1:], stdout, stderr)
	case "sim":
		err = cmdSim(args[1:], stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "phalanx", version)
	default:
		err = fmt.Errorf("unknown command %q: %w", args[0], errUsage)
	}
	var exit exitCode
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit):
		return int(exit)
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "phalanx: %v\n\n%s", err, usage)
		return 2
	default:
		fmt.Fprintf(stderr, "phalanx: %v\n", err)
		return 1
	}
}

// exitCode ends the program with that code and no further message.
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit %d", int(e)) }
