package docker

import (
	"fmt"

	"github.com/docker/go-units"
)

// GPU modes: how a container is given its GPUs.
const (
	GPUModeNvidia = "nvidia" // device request with driver "nvidia" (NVIDIA Container Toolkit hook)
	GPUModeCDI    = "cdi"    // CDI device request for nvidia.com/gpu=<uuid>
	GPUModeEnv    = "env"    // NVIDIA_VISIBLE_DEVICES only; the engine's default runtime does the rest
)

// Config configures the Docker runtime.
type Config struct {
	// PidsLimit caps the processes in one container.
	PidsLimit int64
	// GPUMode is GPUModeNvidia, GPUModeCDI or GPUModeEnv.
	GPUMode string
	// LogMaxSize caps the container's own json-file log ("10m"); Phalanx's
	// copy of the output is kept by executor/logs.
	LogMaxSize string
	// Network is the container network mode; "" is the engine's default
	// bridge.
	Network string
}

// DefaultConfig returns the defaults: 4096 PIDs, GPU mode "env", 10m of
// json-file log, the default network.
func DefaultConfig() Config {
	return Config{PidsLimit: 4096, GPUMode: GPUModeEnv, LogMaxSize: "10m"}
}

// withDefaults fills zero fields from DefaultConfig.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.PidsLimit == 0 {
		c.PidsLimit = d.PidsLimit
	}
	if c.GPUMode == "" {
		c.GPUMode = d.GPUMode
	}
	if c.LogMaxSize == "" {
		c.LogMaxSize = d.LogMaxSize
	}
	return c
}

// Validate reports whether c is usable.
func (c Config) Validate() error {
	if c.PidsLimit <= 0 {
		return fmt.Errorf("docker: PidsLimit must be > 0, got %d", c.PidsLimit)
	}
	switch c.GPUMode {
	case GPUModeNvidia, GPUModeCDI, GPUModeEnv:
	default:
		return fmt.Errorf("docker: GPUMode must be %q, %q or %q, got %q", GPUModeNvidia, GPUModeCDI, GPUModeEnv, c.GPUMode)
	}
	if n, err := units.RAMInBytes(c.LogMaxSize); err != nil || n <= 0 {
		return fmt.Errorf("docker: LogMaxSize must be a size such as \"10m\", got %q", c.LogMaxSize)
	}
	return nil
}
