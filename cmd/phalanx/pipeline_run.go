package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/phalanx-sched/phalanx/api"
	"github.com/phalanx-sched/phalanx/api/client"
)

// pipelineRuns runs the pipeline subcommands that talk to the cluster.
func pipelineRuns(sub string, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("pipeline "+sub, stderr)
	addr := fs.String("addr", client.AddrFromEnv(), "server HTTP address ($PHALANX_ADDR)")
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	c := func() *client.Client { return client.New(*addr) }
	switch sub {
	case "run":
		ref := fs.String("ref", "HEAD", "branch, tag, full ref or commit to run")
		pos, o, err := parseRead(fs, args, 1, 1, "a repo name")
		if err != nil {
			return err
		}
		run, err := c().StartRun(ctx, pos[0], *ref)
		if err != nil {
			return err
		}
		if o.format == "json" {
			return printJSON(stdout, run)
		}
		fmt.Fprintf(stdout, "run %s of %s at %s (%s): %s\n", run.ID, run.Repo, shortCommit(run.Commit), run.Ref, run.State)
		return nil
	case "list":
		repo := fs.String("repo", "", "only this repo's runs")
		_, o, err := parseRead(fs, args, 0, 0, "no arguments")
		if err != nil {
			return err
		}
		runs, err := c().Runs(ctx, *repo)
		if err != nil {
			return err
		}
		if o.format == "json" {
			return printJSON(stdout, runs)
		}
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tREPO\tEVENT\tREF\tCOMMIT\tSTATE\tSTEPS\tCREATED\tMESSAGE")
		for _, r := range runs {
			done := 0
			for _, st := range r.Steps {
				if st.State.Terminal() {
					done++
				}
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d/%d\t%s\t%s\n", r.ID, r.Repo, r.Event, or(r.Ref, "-"), shortCommit(r.Commit), r.State,
				done, len(r.Steps), r.CreateTime.Local().Format(time.DateTime), firstLine(r.Message))
		}
		return tw.Flush()
	case "status":
		pos, o, err := parseRead(fs, args, 1, 1, "a run ID")
		if err != nil {
			return err
		}
		run, err := c().Run(ctx, pos[0])
		if err != nil {
			return err
		}
		if o.format == "json" {
			return printJSON(stdout, run)
		}
		printRun(stdout, run)
		return nil
	case "logs":
		follow := fs.Bool("f", false, "follow: wait for the step to start and stream its output until it ends")
		pos, err := parse(fs, args, 2, 2, "a run ID and a step name")
		if err != nil {
			return err
		}
		return c().StepLogs(ctx, pos[0], pos[1], *follow, stdout)
	case "cancel":
		pos, err := parse(fs, args, 1, 1, "a run ID")
		if err != nil {
			return err
		}
		run, err := c().CancelRun(ctx, pos[0])
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "run %s cancelled; its running steps get SIGTERM, then SIGKILL after their kill_timeout\n", run.ID)
		return nil
	}
	return fmt.Errorf("unknown pipeline subcommand %q: %w", sub, errUsage)
}

func printRun(w io.Writer, r *api.Run) {
	fmt.Fprintf(w, "ID        %s\nRepo      %s\nEvent     %s\nRef       %s\nCommit    %s\nState     %s\n", r.ID, r.Repo, r.Event, or(r.Ref, "-"), r.Commit, r.State)
	if r.Message != "" {
		fmt.Fprintf(w, "Message   %s\n", strings.ReplaceAll(r.Message, "\n", "\n          "))
	}
	if r.NodeName != "" {
		fmt.Fprintf(w, "Node      %s\n", r.NodeName)
	}
	if r.ConcurrencyGroup != "" {
		fmt.Fprintf(w, "Group     %s\n", r.ConcurrencyGroup)
	}
	fmt.Fprintf(w, "Created   %s\n", r.CreateTime.Local().Format(time.DateTime))
	if len(r.Steps) > 0 {
		fmt.Fprintln(w, "\nSteps")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "STEP\tSTATE\tDURATION\tNODE\tEXIT\tATTEMPTS\tREASON")
		for _, st := range r.Steps {
			exit := "-"
			if st.ExitCode != nil {
				exit = fmt.Sprint(*st.ExitCode)
			}
			node := "-"
			if st.JobID() != "" {
				node = r.NodeName
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", st.Name, st.State, duration(st.StartTime, st.FinishTime), node, exit, len(st.JobIDs), st.Reason)
		}
		tw.Flush()
	}
	for _, d := range r.Dropped {
		fmt.Fprintf(w, "left out %s: %s\n", d.Step, d.Reason)
	}
}

func duration(start, end time.Time) string {
	switch {
	case start.IsZero():
		return "-"
	case end.IsZero():
		return time.Since(start).Round(time.Second).String() + "+"
	}
	return end.Sub(start).Round(100 * time.Millisecond).String()
}

func shortCommit(c string) string {
	if len(c) > 10 {
		return c[:10]
	}
	return c
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " ..."
	}
	return s
}
