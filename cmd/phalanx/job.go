package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"

	"github.com/phalanx-sched/phalanx/api"
	"github.com/phalanx-sched/phalanx/api/client"
	"github.com/phalanx-sched/phalanx/api/jobspec"
)

func cmdJob(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("job needs a subcommand (run, validate, status, list, logs, cancel): %w", errUsage)
	}
	sub, args := args[0], args[1:]
	fs := newFlags("job "+sub, stderr)
	addr := fs.String("addr", client.AddrFromEnv(), "server HTTP address ($PHALANX_ADDR)")
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	c := func() *client.Client { return client.New(*addr) }
	switch sub {
	case "run":
		return jobRun(ctx, fs, args, c, stdout, stderr)
	case "validate":
		return jobValidate(fs, args, stdout, stderr)
	case "status":
		pos, o, err := parseRead(fs, args, 1, 1, "a job ID")
		if err != nil {
			return err
		}
		st, err := c().Job(ctx, pos[0])
		if err != nil {
			return err
		}
		if o.format == "json" {
			return printJSON(stdout, st)
		}
		printJobStatus(stdout, st)
		return nil
	case "list":
		_, o, err := parseRead(fs, args, 0, 0, "no arguments")
		if err != nil {
			return err
		}
		jobs, err := c().Jobs(ctx)
		if err != nil {
			return err
		}
		if o.format == "json" {
			return printJSON(stdout, jobs)
		}
		printJobList(stdout, jobs)
		return nil
	case "logs":
		follow := fs.Bool("f", false, "follow: stream output until the task ends")
		alloc := fs.String("alloc", "", "allocation ID or prefix (default: the job's first member)")
		pos, err := parse(fs, args, 1, 1, "a job ID")
		if err != nil {
			return err
		}
		return c().Logs(ctx, pos[0], *alloc, *follow, stdout)
	case "cancel":
		pos, err := parse(fs, args, 1, 1, "a job ID")
		if err != nil {
			return err
		}
		st, err := c().CancelJob(ctx, pos[0])
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "job %s cancelled; running tasks get SIGTERM, then SIGKILL after their kill_timeout\n", st.ID)
		return nil
	}
	return fmt.Errorf("unknown job subcommand %q: %w", sub, errUsage)
}

func jobValidate(fs *flag.FlagSet, args []string, stdout, stderr io.Writer) error {
	pos, err := parse(fs, args, 1, 1, "a job file")
	if err != nil {
		return err
	}
	b, err := os.ReadFile(pos[0])
	if err != nil {
		return err
	}
	spec, err := jobspec.Parse(pos[0], b)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitCode(1)
	}
	fmt.Fprintf(stdout, "%s: ok: job %q, %d groups, %d tasks\n", pos[0], spec.Name, len(spec.Groups), (&api.Job{Spec: *spec}).Members())
	return nil
}

func jobRun(ctx context.Context, fs *flag.FlagSet, args []string, c func() *client.Client, stdout, stderr io.Writer) error {
	wait := fs.Bool("wait", false, "wait for the job to finish, showing progress; exit 0 only if it succeeded")
	key := fs.String("idempotency-key", "", "submission key: the same key submits a job once, however often it is sent (default: a new random key, so the client's own retries are safe)")
	pos, o, err := parseRead(fs, args, 1, 1, "a job file")
	if err != nil {
		return err
	}
	b, err := os.ReadFile(pos[0])
	if err != nil {
		return err
	}
	// Check locally first: the same errors, without a round trip.
	if _, err := jobspec.Parse(pos[0], b); err != nil {
		fmt.Fprintln(stderr, err)
		return exitCode(1)
	}
	cl := c()
	if *key == "" {
		*key = uuid.NewString()
	}
	st, err := cl.SubmitJob(ctx, pos[0], b, *key)
	if err != nil {
		return err
	}
	if !*wait {
		if o.format == "json" {
			return printJSON(stdout, st)
		}
		fmt.Fprintln(stdout, st.ID)
		return nil
	}
	fmt.Fprintf(stderr, "submitted %s\n", st.ID)
	st, err = waitJob(ctx, cl, st.ID, stderr)
	if err != nil {
		return err
	}
	if o.format == "json" {
		err = printJSON(stdout, st)
	} else {
		printJobStatus(stdout, st)
	}
	if err != nil {
		return err
	}
	if st.State != api.JobSucceeded {
		return exitCode(1)
	}
	return nil
}

// waitJob polls a job until it ends, printing each change of state or
// reason, and of its allocations' states.
func waitJob(ctx context.Context, cl *client.Client, id string, w io.Writer) (*api.JobStatus, error) {
	last := ""
	start := time.Now()
	delay := 50 * time.Millisecond
	unavailable := time.Time{}
	for {
		st, err := cl.Job(ctx, id)
		if err != nil {
			// A server restarting or changing leader is no reason to stop
			// waiting; give up only after a minute without an answer.
			if ctx.Err() != nil || !transient(err) {
				return nil, err
			}
			if unavailable.IsZero() {
				unavailable = time.Now()
				fmt.Fprintf(w, "[%6.1fs] server unavailable (%v); still waiting\n", time.Since(start).Seconds(), err)
			} else if time.Since(unavailable) > time.Minute {
				return nil, fmt.Errorf("no answer for a minute: %w", err)
			}
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
			continue
		}
		unavailable = time.Time{}
		line := string(st.State)
		if st.Reason != "" {
			line += ": " + st.Reason
		}
		if n := len(st.Allocations); n > 0 {
			counts := map[api.AllocState]int{}
			for _, a := range st.Allocations {
				if a.Attempt == st.Attempt {
					counts[a.State]++
				}
			}
			var parts []string
			for _, s := range []api.AllocState{api.AllocPending, api.AllocRunning, api.AllocSucceeded, api.AllocFailed, api.AllocStopped, api.AllocLost} {
				if counts[s] > 0 {
					parts = append(parts, fmt.Sprintf("%d %s", counts[s], s))
				}
			}
			line += " (tasks: " + strings.Join(parts, ", ") + ")"
		}
		if line != last {
			fmt.Fprintf(w, "[%6.1fs] %s\n", time.Since(start).Seconds(), line)
			last = line
		}
		if st.State.Terminal() {
			return st, nil
		}
		select {
		case <-ctx.Done():
			return nil, errors.New("stopped waiting; the job goes on (phalanx job cancel " + id + " stops it)")
		case <-time.After(delay):
		}
		delay = min(2*delay, 500*time.Millisecond)
	}
}

// transient reports whether err may go away by itself: no leader, or no
// connection.
func transient(err error) bool {
	var ne net.Error
	var oe *net.OpError
	return errors.Is(err, api.ErrNotLeader) || errors.As(err, &ne) || errors.As(err, &oe) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET)
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func printJobStatus(w io.Writer, st *api.JobStatus) {
	fmt.Fprintf(w, "ID        %s\nName      %s\nQueue     %s\nPriority  %d\nState     %s\n", st.ID, st.Name, st.Queue, st.Priority, st.State)
	if st.Reason != "" {
		fmt.Fprintf(w, "Reason    %s\n", st.Reason)
	}
	if st.Unplaced > 0 {
		fmt.Fprintf(w, "Waiting   %d member(s) for a node\n", st.Unplaced)
	}
	fmt.Fprintf(w, "Submitted %s\n", st.SubmitTime.Local().Format(time.DateTime))
	if len(st.Events) > 0 {
		fmt.Fprintln(w, "\nEvents")
		for _, e := range st.Events {
			fmt.Fprintf(w, "  %s  %-9s  %s\n", e.Time.Local().Format(time.DateTime), e.Kind, e.Message)
		}
	}
	if len(st.Allocations) == 0 {
		return
	}
	fmt.Fprintln(w, "\nAllocations")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tGROUP\tINDEX\tATTEMPT\tNODE\tSTATE\tEXIT\tGPUS\tMESSAGE")
	for _, a := range st.Allocations {
		exit := "-"
		if a.ExitCode != nil {
			exit = fmt.Sprint(*a.ExitCode)
		}
		gpus := "-"
		if len(a.GPUs) > 0 {
			gpus = strings.Join(a.GPUs, ",")
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\t%s\t%s\t%s\n", short(a.ID), a.Group, a.Index, a.Attempt, a.Node, a.State, exit, gpus, a.Message)
	}
	tw.Flush()
}

func printJobList(w io.Writer, jobs []*api.JobStatus) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tQUEUE\tPRIORITY\tSTATE\tTASKS\tSUBMITTED\tREASON")
	for _, j := range jobs {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d\t%s\t%s\n", j.ID, j.Queue, j.Priority, j.State, len(j.Allocations),
			j.SubmitTime.Local().Format(time.DateTime), j.Reason)
	}
	tw.Flush()
}

func short(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}
