package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/phalanx-sched/phalanx/api"
	"github.com/phalanx-sched/phalanx/api/client"
	"github.com/phalanx-sched/phalanx/gpu"
)

func cmdNode(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("node needs a subcommand (list, status, drain, eligible, recover-gpu): %w", errUsage)
	}
	sub, args := args[0], args[1:]
	fs := newFlags("node "+sub, stderr)
	addr := fs.String("addr", client.AddrFromEnv(), "server HTTP address ($PHALANX_ADDR)")
	ctx := context.Background()
	switch sub {
	case "list":
		_, o, err := parseRead(fs, args, 0, 0, "no arguments")
		if err != nil {
			return err
		}
		nodes, err := client.New(*addr).Nodes(ctx)
		if err != nil {
			return err
		}
		if o.format == "json" {
			return printJSON(stdout, nodes)
		}
		return printNodeList(stdout, nodes)
	case "status":
		pos, o, err := parseRead(fs, args, 1, 1, "a node ID or name")
		if err != nil {
			return err
		}
		st, err := client.New(*addr).Node(ctx, pos[0])
		if err != nil {
			return err
		}
		if o.format == "json" {
			return printJSON(stdout, st)
		}
		return printNodeStatus(stdout, st)
	case "drain", "eligible":
		deadline := ""
		if sub == "drain" {
			fs.StringVar(&deadline, "deadline", "", "move what still runs after this long (e.g. 1h); default: let it finish")
		}
		pos, err := parse(fs, args, 1, 1, "a node ID or name")
		if err != nil {
			return err
		}
		n, err := client.New(*addr).Drain(ctx, pos[0], sub == "drain", deadline)
		if err != nil {
			return err
		}
		switch {
		case n.Drain == nil:
			fmt.Fprintf(stdout, "node %s takes new work again\n", n.Name)
		case n.Drain.Deadline.IsZero():
			fmt.Fprintf(stdout, "node %s is draining: no new work; what runs there may finish\n", n.Name)
		default:
			fmt.Fprintf(stdout, "node %s is draining: no new work; what still runs at %s moves to other nodes\n",
				n.Name, n.Drain.Deadline.Local().Format(time.DateTime))
		}
		return nil
	case "recover-gpu":
		pos, err := parse(fs, args, 2, 2, "a node and a GPU (UUID or index)")
		if err != nil {
			return err
		}
		if err := client.New(*addr).SetGPUHealth(ctx, pos[0], pos[1], api.GPUHealth{Healthy: true}); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "GPU %s of node %s is healthy again and takes new work\n", pos[1], pos[0])
		return nil
	}
	return fmt.Errorf("unknown node subcommand %q: %w", sub, errUsage)
}

func printNodeList(w io.Writer, nodes []*api.Node) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tSTATUS\tRUNTIME\tCPU\tMEMORY\tGPUS\tADDRESS\tLAST HEARTBEAT")
	for _, n := range nodes {
		status := string(n.Status)
		if n.Drain != nil {
			status += ", draining"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", short(n.ID), n.Name, status, n.Runtime,
			fmtCPU(n.Resources.CPUMilli), fmtBytes(n.Resources.MemoryBytes), gpuSummary(n), n.Address,
			n.LastHeartbeat.Local().Format(time.DateTime))
	}
	return tw.Flush()
}

// gpuSummary is "8", "8 (mock)" or "8 (1 unhealthy)".
func gpuSummary(n *api.Node) string {
	s := fmt.Sprint(len(n.GPUs))
	var notes []string
	if len(n.GPUs) > 0 && n.GPUs[0].Mock {
		notes = append(notes, "mock")
	}
	sick := 0
	for _, g := range n.GPUs {
		if !g.Healthy {
			sick++
		}
	}
	if sick > 0 {
		notes = append(notes, fmt.Sprintf("%d unhealthy", sick))
	}
	if len(notes) > 0 {
		s += " (" + strings.Join(notes, ", ") + ")"
	}
	return s
}

func printNodeStatus(w io.Writer, st *api.NodeDetail) error {
	n := st.Node
	var cpu, mem int64
	holder := map[int]string{}
	for _, a := range st.Allocations {
		cpu += a.Task.Resources.CPUMilli
		mem += a.Task.Resources.MemoryBytes
		for _, g := range a.GPUIndices {
			holder[g] = fmt.Sprintf("%s %s[%d]", a.JobID, a.Group, a.Index)
		}
	}
	fmt.Fprintf(w, "ID        %s\nName      %s\nStatus    %s\nRuntime   %s\nAddress   %s\n", n.ID, n.Name, n.Status, n.Runtime, n.Address)
	if d := n.Drain; d != nil {
		fmt.Fprintf(w, "Drain     since %s", d.Since.Local().Format(time.DateTime))
		if !d.Deadline.IsZero() {
			fmt.Fprintf(w, ", moving what still runs at %s", d.Deadline.Local().Format(time.DateTime))
		}
		fmt.Fprintln(w, " (phalanx node eligible undoes it)")
	}
	fmt.Fprintf(w, "CPU       %s of %s allocated\nMemory    %s of %s allocated\n",
		fmtCPU(cpu), fmtCPU(n.Resources.CPUMilli), fmtBytes(mem), fmtBytes(n.Resources.MemoryBytes))
	if n.Ports.Max > 0 {
		fmt.Fprintf(w, "Ports     %d-%d\n", n.Ports.Min, n.Ports.Max)
	}
	if len(n.Labels) > 0 {
		var kv []string
		for k, v := range n.Labels {
			kv = append(kv, k+"="+v)
		}
		sort.Strings(kv)
		fmt.Fprintf(w, "Labels    %s\n", strings.Join(kv, " "))
	}
	fmt.Fprintf(w, "Heartbeat %s\nTasks     %d running or starting\n", n.LastHeartbeat.Local().Format(time.DateTime), len(st.Allocations))
	if len(n.GPUs) == 0 {
		return nil
	}
	fmt.Fprintf(w, "\nGPUs %s\n", gpuSummary(n))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "INDEX\tUUID\tMODEL\tMEMORY\tNVLINK\tHEALTH\tHELD BY")
	for _, g := range n.GPUs {
		health := "healthy"
		if !g.Healthy {
			health = "UNHEALTHY: " + g.Unhealthy
		}
		peers := "-"
		if len(g.NVLinkPeers) > 0 {
			peers = strings.Trim(strings.Join(strings.Fields(fmt.Sprint(g.NVLinkPeers)), ","), "[]")
		}
		held := holder[g.Index]
		if held == "" {
			held = "-"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", g.Index, g.UUID, g.Model, fmtBytes(g.MemoryBytes), peers, health, held)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, g := range n.GPUs {
		if !g.Healthy {
			fmt.Fprintf(w, "\nUnhealthy GPUs get no new work. After fixing one: phalanx node recover-gpu %s %d\n", n.Name, g.Index)
			break
		}
	}
	return nil
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
