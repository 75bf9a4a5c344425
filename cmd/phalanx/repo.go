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

	"github.com/phalanx-sched/phalanx/api"
	"github.com/phalanx-sched/phalanx/api/client"
)

func cmdRepo(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("repo needs a subcommand (add, list, remove): %w", errUsage)
	}
	sub, args := args[0], args[1:]
	fs := newFlags("repo "+sub, stderr)
	addr := fs.String("addr", client.AddrFromEnv(), "server HTTP address ($PHALANX_ADDR)")
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	switch sub {
	case "add":
		var req api.RepoRequest
		fs.StringVar(&req.URL, "url", "", "the repository's clone URL (https://, file://); required")
		secretFile := fs.String("webhook-secret-file", "", "file holding the webhook secret (GitHub/Gitea HMAC key, GitLab or generic token); without one every hook is refused")
		tokenFile := fs.String("token-file", "", "file holding a token for fetching a private repository (sent as HTTP basic auth)")
		fs.StringVar(&req.Queue, "queue", "", "queue for every step's job (default: the pipeline file's queue)")
		fs.BoolVar(&req.AllowPRSecrets, "allow-pr-secrets", false, "give pull-request runs the repo's secrets (off: their steps that need one fail)")
		pos, err := parse(fs, args, 1, 1, "a repo name")
		if err != nil {
			return err
		}
		req.Name = pos[0]
		if req.URL == "" {
			return fmt.Errorf("repo add %s: --url is required: %w", req.Name, errUsage)
		}
		if req.WebhookSecret, err = readSecretFile(*secretFile); err != nil {
			return err
		}
		if req.Token, err = readSecretFile(*tokenFile); err != nil {
			return err
		}
		info, err := client.New(*addr).PutRepo(ctx, req)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "repo %s: %s\n", info.Name, info.URL)
		if !info.HasWebhookSecret {
			fmt.Fprintf(stdout, "no webhook secret: hooks for %s are refused; manual runs work (phalanx pipeline run %s --ref main)\n", info.Name, info.Name)
		} else {
			fmt.Fprintf(stdout, "webhook URL: http://%s/v1/hooks/{github|gitlab|gitea|generic}?repo=%s\n", strings.TrimPrefix(client.New(*addr).Addr(), "http://"), info.Name)
		}
		return nil
	case "list":
		_, o, err := parseRead(fs, args, 0, 0, "no arguments")
		if err != nil {
			return err
		}
		repos, err := client.New(*addr).Repos(ctx)
		if err != nil {
			return err
		}
		if o.format == "json" {
			return printJSON(stdout, repos)
		}
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tURL\tQUEUE\tWEBHOOK SECRET\tTOKEN\tPR SECRETS\tSECRETS")
		for _, r := range repos {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\n", r.Name, r.URL, or(r.Queue, "-"), yesNo(r.HasWebhookSecret), yesNo(r.HasToken), yesNo(r.AllowPRSecrets), len(r.Secrets))
		}
		return tw.Flush()
	case "remove":
		pos, err := parse(fs, args, 1, 1, "a repo name")
		if err != nil {
			return err
		}
		if err := client.New(*addr).DeleteRepo(ctx, pos[0]); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "repo %s removed, with its secrets; its runs stay\n", pos[0])
		return nil
	}
	return fmt.Errorf("unknown repo subcommand %q: %w", sub, errUsage)
}

// readSecretFile reads a secret from a file ("" for none; "-" for stdin),
// without its trailing newline.
func readSecretFile(name string) (string, error) {
	if name == "" {
		return "", nil
	}
	var b []byte
	var err error
	if name == "-" {
		b, err = io.ReadAll(io.LimitReader(os.Stdin, api.MaxSecretBytes+1))
	} else {
		b, err = os.ReadFile(name)
	}
	if err != nil {
		return "", err
	}
	s := strings.TrimRight(string(b), "\r\n")
	if s == "" {
		return "", fmt.Errorf("%s is empty", name)
	}
	return s, nil
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
