package gpu

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
)

// The --gpus choices that Open accepts.
const (
	SourceNVML        = "nvml"
	SourceMockDGXA100 = "mock:dgxa100"
	SourceNone        = "none"
)

// Sources lists the --gpus choices that Open accepts.
func Sources() []string {
	return []string{SourceNVML, SourceMockDGXA100, SourceNone}
}

// ErrNoDriver is wrapped by the error of Open("nvml") and of Discover when
// the NVIDIA driver library cannot be loaded or the kernel driver is not
// loaded.
var ErrNoDriver = errors.New("no NVIDIA driver found (libnvidia-ml.so): run with --gpus none, or install the driver")

// Open returns the Discoverer for a --gpus choice. Each one it returns also
// implements Watcher and Sampler.
//
//	"nvml"          the host's driver; NVML is initialised now, so a host
//	                without one fails here with an error wrapping ErrNoDriver
//	"mock:dgxa100"  go-nvml's simulated 8×A100 DGX; inventories are marked Mock
//	"none"          a host without GPUs
func Open(kind string) (Discoverer, error) {
	switch kind {
	case SourceNVML:
		d := newNVML(nvml.New(), SourceNVML, false)
		if err := d.start(); err != nil {
			return nil, fmt.Errorf("gpu: --gpus %s: %w", kind, err)
		}
		return d, nil
	case SourceMockDGXA100:
		return NewNVML(newMockDGXA100(), SourceMockDGXA100, true), nil
	case SourceNone:
		return noGPUs{}, nil
	default:
		return nil, fmt.Errorf("gpu: unknown --gpus %q: want one of %s", kind, strings.Join(Sources(), ", "))
	}
}

// noGPUs is the Discoverer of a host without GPUs.
type noGPUs struct{}

func (noGPUs) Discover() (Inventory, error) { return Inventory{Source: SourceNone}, nil }
func (noGPUs) Close() error                 { return nil }

// Watch has no GPU to watch: it blocks until ctx ends and returns nil.
func (noGPUs) Watch(ctx context.Context, _ func(HealthEvent)) error {
	<-ctx.Done()
	return nil
}

// Sample returns no samples.
func (noGPUs) Sample() ([]Sample, error) { return nil, nil }
