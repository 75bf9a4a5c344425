package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/phalanx-sched/phalanx/api/client"
	"github.com/phalanx-sched/phalanx/gpu"
)

func cmdNode(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "list" {
		return fmt.Errorf("node needs a subcommand (list): %w", errUsage)
	}
	fs := newFlags("node list", stderr)
	addr := fs.String("addr", client.AddrFromEnv(), "server HTTP address ($PHALANX_ADDR)")
	var o output
	o.register(fs)
	if _, err := parse(fs, args[1:], 0, 0, "no arguments"); err != nil {
		return err
	}
	if err := o.check(); err != nil {
		return err
	}
	nodes, err := client.New(*addr).Nodes(context.Background())
	if err != nil {
		return err
	}
	if o.format == "json" {
		return printJSON(stdout, nodes)
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tSTATUS\tRUNTIME\tCPU\tMEMORY\tGPUS\tADDRESS\tLAST HEARTBEAT")
	for _, n := range nodes {
		gpus := fmt.Sprint(len(n.GPUs))
		if len(n.GPUs) > 0 && n.GPUs[0].Mock {
			gpus += " (mock)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", short(n.ID), n.Name, n.Status, n.Runtime,
			fmtCPU(n.Resources.CPUMilli), fmtBytes(n.Resources.MemoryBytes), gpus, n.Address,
			n.LastHeartbeat.Local().Format(time.DateTime))
	}
	return tw.Flush()
}

func cmdGPU(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "list" {
		return fmt.Errorf("gpu needs a subcommand (list): %w", errUsage)
	}
	fs := newFlags("gpu list", stderr)
	kind := fs.String("gpus", "nvml", "GPU discovery to run")
	if _, err := parse(fs, args[1:], 0, 0, "no arguments"); err != nil {
		return err
	}
	d, err := gpu.Open(*kind)
	if err != nil {
		return err
	}
	defer d.Close()
	inv, err := d.Discover()
	if err != nil {
		return err
	}
	return gpu.Print(stdout, inv)
}

func fmtCPU(milli int64) string {
	if milli%1000 == 0 {
		return fmt.Sprint(milli / 1000)
	}
	return fmt.Sprintf("%dm", milli)
}

func fmtBytes(b int64) string {
	const gi, mi = 1 << 30, 1 << 20
	switch {
	case b >= gi:
		return fmt.Sprintf("%.1fGi", float64(b)/gi)
	case b >= mi:
		return fmt.Sprintf("%dMi", b/mi)
	}
	return fmt.Sprint(b)
}
