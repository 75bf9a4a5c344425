package gpu

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
)

// Print writes inv as a table, one row per GPU, under a line naming the
// source, "(mock GPUs)" for simulated ones, and the driver and CUDA versions.
func Print(w io.Writer, inv Inventory) error {
	header := "GPUs from " + inv.Source
	if inv.Mock {
		header += " (mock GPUs)"
	}
	if inv.DriverVersion != "" {
		header += ", driver " + inv.DriverVersion
	}
	if inv.CUDAVersion != "" {
		header += ", CUDA " + inv.CUDAVersion
	}
	if _, err := fmt.Fprintln(w, header); err != nil {
		return err
	}
	if len(inv.Devices) == 0 {
		_, err := fmt.Fprintln(w, "no GPUs")
		return err
	}

	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "INDEX\tUUID\tMODEL\tMEMORY\tPCI\tNVLINK\tHEALTHY")
	for _, d := range inv.Devices {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n",
			d.Index, d.UUID, d.Model, formatBytes(d.MemoryBytes), orDash(d.PCIBusID),
			formatPeers(d.NVLinkPeers), yesNo(d.Healthy))
	}
	return tw.Flush()
}

// formatBytes writes n in GiB with one decimal when it is not whole,
// or in MiB below 1 GiB.
func formatBytes(n int64) string {
	const mib, gib = 1 << 20, 1 << 30
	switch {
	case n >= gib && n%gib == 0:
		return fmt.Sprintf("%d GiB", n/gib)
	case n >= gib:
		return fmt.Sprintf("%.1f GiB", float64(n)/gib)
	default:
		return fmt.Sprintf("%d MiB", n/mib)
	}
}

func formatPeers(peers []int) string {
	if len(peers) == 0 {
		return "-"
	}
	s := make([]string, len(peers))
	for i, p := range peers {
		s[i] = strconv.Itoa(p)
	}
	return strings.Join(s, ",")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
