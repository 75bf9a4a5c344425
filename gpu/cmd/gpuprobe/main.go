// Command gpuprobe runs GPU discovery once and prints what it found:
//
//	gpuprobe [-gpus nvml|mock:dgxa100|none]
//
// It exits 1 when discovery fails, printing why.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/phalanx-sched/phalanx/gpu"
)

func main() {
	kind := flag.String("gpus", gpu.SourceNVML, "where GPUs come from: "+strings.Join(gpu.Sources(), ", "))
	flag.Parse()
	if err := run(*kind); err != nil {
		fmt.Fprintln(os.Stderr, "gpuprobe:", err)
		os.Exit(1)
	}
}

func run(kind string) error {
	d, err := gpu.Open(kind)
	if err != nil {
		return err
	}
	inv, err := d.Discover()
	if err != nil {
		d.Close()
		return err
	}
	if err := gpu.Print(os.Stdout, inv); err != nil {
		d.Close()
		return err
	}
	return d.Close()
}
