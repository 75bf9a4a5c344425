package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"github.com/phalanx-sched/phalanx/api"
	"github.com/phalanx-sched/phalanx/api/client"
)

func cmdQueue(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("queue needs a subcommand (apply, list, delete): %w", errUsage)
	}
	sub, args := args[0], args[1:]
	fs := newFlags("queue "+sub, stderr)
	addr := fs.String("addr", client.AddrFromEnv(), "server HTTP address ($PHALANX_ADDR)")
	ctx := context.Background()
	switch sub {
	case "apply":
		pos, o, err := parseRead(fs, args, 1, 1, "a queue file")
		if err != nil {
			return err
		}
		b, err := os.ReadFile(pos[0])
		if err != nil {
			return err
		}
		qs, err := client.New(*addr).ApplyQueues(ctx, pos[0], b)
		if err != nil {
			return err
		}
		if o.format == "json" {
			return printJSON(stdout, qs)
		}
		return printQueues(stdout, qs)
	case "list":
		_, o, err := parseRead(fs, args, 0, 0, "no arguments")
		if err != nil {
			return err
		}
		qs, err := client.New(*addr).Queues(ctx)
		if err != nil {
			return err
		}
		if o.format == "json" {
			return printJSON(stdout, qs)
		}
		return printQueues(stdout, qs)
	case "delete":
		pos, err := parse(fs, args, 1, 1, "a queue name")
		if err != nil {
			return err
		}
		if err := client.New(*addr).DeleteQueue(ctx, pos[0]); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "queue %s deleted\n", pos[0])
		return nil
	}
	return fmt.Errorf("unknown queue subcommand %q (want apply, list, delete): %w", sub, errUsage)
}

func printQueues(w io.Writer, qs []*api.QueueStatus) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tWEIGHT\tBORROW\tMAX PRIO\tRUNNING\tQUEUED\tCPU\tMEMORY\tGPUS")
	for _, q := range qs {
		maxPrio := "-"
		if q.MaxPriority != nil {
			maxPrio = fmt.Sprint(*q.MaxPriority)
		}
		cpu := fmtCPU(q.Used.CPUMilli)
		if q.Quota.CPUMilli != nil {
			cpu += "/" + fmtCPU(*q.Quota.CPUMilli)
		}
		mem := fmtBytes(q.Used.MemoryBytes)
		if q.Quota.MemoryBytes != nil {
			mem += "/" + fmtBytes(*q.Quota.MemoryBytes)
		}
		gpus := fmt.Sprint(q.Used.GPUs)
		if q.Quota.GPUs != nil {
			gpus += fmt.Sprintf("/%d", *q.Quota.GPUs)
		}
		fmt.Fprintf(tw, "%s\t%d\t%v\t%s\t%d\t%d\t%s\t%s\t%s\n", q.Name, q.EffectiveWeight(), q.Borrow, maxPrio, q.Running, q.Queued, cpu, mem, gpus)
	}
	return tw.Flush()
}
