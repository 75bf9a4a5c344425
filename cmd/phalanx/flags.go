package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
)

// newFlags returns a flag set that reports errors as usage errors.
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("phalanx "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parse parses flags that may come before, between or after positional
// arguments ("job run FILE --wait"), and checks the positional count.
func parse(fs *flag.FlagSet, args []string, minPos, maxPos int, posNames string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if err == flag.ErrHelp {
				return nil, exitCode(0)
			}
			return nil, fmt.Errorf("%v: %w", err, errUsage)
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		if args[0] == "--" {
			pos = append(pos, args[1:]...)
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	if len(pos) < minPos || (maxPos >= 0 && len(pos) > maxPos) {
		return nil, fmt.Errorf("%s takes %s, got %q: %w", fs.Name(), posNames, strings.Join(pos, " "), errUsage)
	}
	return pos, nil
}

// output is the -o flag of read commands.
type output struct{ format string }

func (o *output) register(fs *flag.FlagSet) {
	fs.StringVar(&o.format, "o", "text", "output format: text or json")
}

func (o *output) check() error {
	if o.format != "text" && o.format != "json" {
		return fmt.Errorf("-o %q: want text or json: %w", o.format, errUsage)
	}
	return nil
}

// parseRead parses a read command's arguments and its -o flag.
func parseRead(fs *flag.FlagSet, args []string, minPos, maxPos int, posNames string) ([]string, *output, error) {
	o := &output{}
	o.register(fs)
	pos, err := parse(fs, args, minPos, maxPos, posNames)
	if err != nil {
		return nil, nil, err
	}
	return pos, o, o.check()
}
