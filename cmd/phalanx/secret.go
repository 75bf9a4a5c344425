package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/phalanx-sched/phalanx/api/client"
)

func cmdSecret(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("secret needs a subcommand (set, list, remove): %w", errUsage)
	}
	sub, args := args[0], args[1:]
	fs := newFlags("secret "+sub, stderr)
	addr := fs.String("addr", client.AddrFromEnv(), "server HTTP address ($PHALANX_ADDR)")
	repo := fs.String("repo", "", "the repo the secret belongs to; required")
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	needRepo := func() error {
		if *repo == "" {
			return fmt.Errorf("secret %s: --repo is required: %w", sub, errUsage)
		}
		return nil
	}
	switch sub {
	case "set":
		from := fs.String("from-file", "", "file holding the value (\"-\": standard input); required")
		pos, err := parse(fs, args, 1, 1, "a secret name")
		if err != nil {
			return err
		}
		if err := needRepo(); err != nil {
			return err
		}
		if *from == "" {
			return fmt.Errorf("secret set %s: --from-file is required (values are never taken from the command line): %w", pos[0], errUsage)
		}
		value, err := readSecretFile(*from)
		if err != nil {
			return err
		}
		if err := client.New(*addr).SetSecret(ctx, *repo, pos[0], value); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "secret %s of repo %s set; steps that list it in secrets get it as $%s\n", pos[0], *repo, pos[0])
		return nil
	case "list":
		_, o, err := parseRead(fs, args, 0, 0, "no arguments")
		if err != nil {
			return err
		}
		if err := needRepo(); err != nil {
			return err
		}
		info, err := client.New(*addr).Repo(ctx, *repo)
		if err != nil {
			return err
		}
		if o.format == "json" {
			return printJSON(stdout, info.Secrets)
		}
		for _, name := range info.Secrets {
			fmt.Fprintln(stdout, name)
		}
		return nil
	case "remove":
		pos, err := parse(fs, args, 1, 1, "a secret name")
		if err != nil {
			return err
		}
		if err := needRepo(); err != nil {
			return err
		}
		if err := client.New(*addr).DeleteSecret(ctx, *repo, pos[0]); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "secret %s of repo %s removed\n", pos[0], *repo)
		return nil
	}
	return fmt.Errorf("unknown secret subcommand %q: %w", sub, errUsage)
}
