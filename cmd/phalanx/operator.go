package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"github.com/phalanx-sched/phalanx/api/client"
)

func cmdOperator(args []string, stdout, stderr io.Writer) error {
	if len(args) < 2 {
		return fmt.Errorf("operator needs raft (peers, remove-peer, transfer-leader) or snapshot (save, restore): %w", errUsage)
	}
	area, sub, args := args[0], args[1], args[2:]
	fs := newFlags("operator "+area+" "+sub, stderr)
	addr := fs.String("addr", client.AddrFromEnv(), "server HTTP address(es) ($PHALANX_ADDR)")
	ctx := context.Background()
	c := func() *client.Client { return client.New(*addr) }
	switch area + " " + sub {
	case "raft peers":
		_, o, err := parseRead(fs, args, 0, 0, "no arguments")
		if err != nil {
			return err
		}
		peers, err := c().Peers(ctx)
		if err != nil {
			return err
		}
		if o.format == "json" {
			return printJSON(stdout, peers)
		}
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tRAFT ADDRESS\tHTTP ADDRESS\tVOTER\tLEADER")
		for _, p := range peers {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%v\t%v\n", p.ID, p.RaftAddr, p.HTTPAddr, p.Voter, p.Leader)
		}
		return tw.Flush()
	case "raft remove-peer":
		pos, err := parse(fs, args, 1, 1, "a server ID")
		if err != nil {
			return err
		}
		if err := c().RemovePeer(ctx, pos[0]); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "server %s removed from the cluster\n", pos[0])
		return nil
	case "raft transfer-leader":
		pos, err := parse(fs, args, 0, 1, "an optional server ID")
		if err != nil {
			return err
		}
		to := ""
		if len(pos) == 1 {
			to = pos[0]
		}
		if err := c().TransferLeader(ctx, to); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "leadership transferred")
		return nil
	case "snapshot save":
		pos, err := parse(fs, args, 1, 1, "a file")
		if err != nil {
			return err
		}
		f, err := os.Create(pos[0])
		if err != nil {
			return err
		}
		if err := c().SaveSnapshot(ctx, f); err != nil {
			f.Close()
			os.Remove(pos[0])
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "snapshot saved to %s\n", pos[0])
		return nil
	case "snapshot restore":
		pos, err := parse(fs, args, 1, 1, "a file")
		if err != nil {
			return err
		}
		b, err := os.ReadFile(pos[0])
		if err != nil {
			return err
		}
		if err := c().RestoreSnapshot(ctx, b); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "cluster state restored from %s\n", pos[0])
		return nil
	}
	return fmt.Errorf("unknown operator command %q: %w", area+" "+sub, errUsage)
}
