package docker

import (
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/strslice"
	"github.com/docker/go-connections/nat"
	"github.com/google/go-cmp/cmp"

	"github.com/phalanx-sched/phalanx/api"
	"github.com/phalanx-sched/phalanx/executor"
)

func TestContainerSpec(t *testing.T) {
	base := func() *api.Allocation {
		return &api.Allocation{
			ID:      "a1",
			JobID:   "j1",
			JobName: "train",
			Group:   "worker",
			Index:   2,
			NodeID:  "n1",
			Task: api.Task{
				Image:      "pytorch/pytorch:2.4.0",
				Command:    []string{"torchrun", "train.py"},
				Env:        map[string]string{"ZED": "z", "ALPHA": "a", "PHALANX_RANK": "2"},
				WorkingDir: "/work",
				Resources:  api.Resources{CPUMilli: 1500, MemoryBytes: 1 << 30},
			},
		}
	}
	wantConfig := func() *container.Config {
		return &container.Config{
			Image:      "pytorch/pytorch:2.4.0",
			Entrypoint: strslice.StrSlice{"torchrun", "train.py"},
			Env: []string{"ALPHA=a", "PHALANX_RANK=2", "ZED=z",
				"NVIDIA_VISIBLE_DEVICES=", "CUDA_VISIBLE_DEVICES="},
			WorkingDir: "/work",
			Labels: map[string]string{
				"phalanx.alloc_id": "a1",
				"phalanx.job_id":   "j1",
				"phalanx.job_name": "train",
				"phalanx.group":    "worker",
				"phalanx.index":    "2",
				"phalanx.managed":  "true",
				"phalanx.node_id":  "n1",
			},
		}
	}
	wantHost := func() *container.HostConfig {
		init, pids := true, int64(4096)
		return &container.HostConfig{
			Init:       &init,
			Privileged: false,
			LogConfig: container.LogConfig{Type: "json-file",
				Config: map[string]string{"max-size": "10m", "max-file": "1"}},
			Resources: container.Resources{
				NanoCPUs:   1_500_000_000,
				Memory:     1 << 30,
				MemorySwap: 1 << 30,
				PidsLimit:  &pids,
			},
		}
	}
	gpus := []string{"GPU-aaa", "GPU-bbb"}

	for _, tc := range []struct {
		name      string
		alloc     func(*api.Allocation)
		prep      executor.Prepared
		cfg       func(*Config)
		wantCfg   func(*container.Config)
		wantHostC func(*container.HostConfig)
	}{
		{name: "defaults"},
		{
			name:    "no command runs the image default",
			alloc:   func(a *api.Allocation) { a.Task.Command = nil },
			wantCfg: func(c *container.Config) { c.Entrypoint = nil },
		},
		{
			name: "no limits",
			alloc: func(a *api.Allocation) {
				a.Task.Resources = api.Resources{}
			},
			wantHostC: func(h *container.HostConfig) {
				h.Resources.NanoCPUs, h.Resources.Memory, h.Resources.MemorySwap = 0, 0, 0
			},
		},
		{
			name: "config: pids, log size, network",
			cfg: func(c *Config) {
				c.PidsLimit, c.LogMaxSize, c.Network = 100, "1m", "phalanx-net"
			},
			wantHostC: func(h *container.HostConfig) {
				pids := int64(100)
				h.Resources.PidsLimit = &pids
				h.LogConfig.Config["max-size"] = "1m"
				h.NetworkMode = "phalanx-net"
			},
		},
		{
			name:      "gang on the host network",
			alloc:     func(a *api.Allocation) { a.Task.Network = api.NetworkHost },
			cfg:       func(c *Config) { c.Network = "phalanx-net" },
			wantHostC: func(h *container.HostConfig) { h.NetworkMode = "host" },
		},
		{
			name: "bridge gang publishes rank 0's rendezvous port",
			alloc: func(a *api.Allocation) {
				a.Task.Network, a.Ports = api.NetworkBridge, []int{29501}
			},
			wantCfg: func(c *container.Config) { c.ExposedPorts = nat.PortSet{"29501/tcp": {}} },
			wantHostC: func(h *container.HostConfig) {
				h.PortBindings = nat.PortMap{"29501/tcp": {{HostPort: "29501"}}}
			},
		},
		{
			name:  "host gang needs no publishing",
			alloc: func(a *api.Allocation) { a.Task.Network, a.Ports = api.NetworkHost, []int{29501} },
			wantHostC: func(h *container.HostConfig) {
				h.NetworkMode = "host"
			},
		},
		{
			name:      "bridge job on the configured network",
			alloc:     func(a *api.Allocation) { a.Task.Network = api.NetworkBridge },
			cfg:       func(c *Config) { c.Network = "phalanx-net" },
			wantHostC: func(h *container.HostConfig) { h.NetworkMode = "phalanx-net" },
		},
		{
			name: "task cannot choose its GPUs",
			alloc: func(a *api.Allocation) {
				a.Task.Env["NVIDIA_VISIBLE_DEVICES"] = "all"
				a.Task.Env["CUDA_VISIBLE_DEVICES"] = "0"
			},
		},
		{
			name:  "gpus, env mode",
			alloc: func(a *api.Allocation) { a.GPUs = gpus },
			wantCfg: func(c *container.Config) {
				c.Env[3] = "NVIDIA_VISIBLE_DEVICES=GPU-aaa,GPU-bbb"
				c.Env[4] = "CUDA_VISIBLE_DEVICES=GPU-aaa,GPU-bbb"
			},
		},
		{
			name:  "gpus, nvidia mode",
			alloc: func(a *api.Allocation) { a.GPUs = gpus },
			cfg:   func(c *Config) { c.GPUMode = GPUModeNvidia },
			wantCfg: func(c *container.Config) {
				c.Env[3] = "NVIDIA_VISIBLE_DEVICES=GPU-aaa,GPU-bbb"
				c.Env[4] = "CUDA_VISIBLE_DEVICES=GPU-aaa,GPU-bbb"
			},
			wantHostC: func(h *container.HostConfig) {
				h.Resources.DeviceRequests = []container.DeviceRequest{{
					Driver:       "nvidia",
					DeviceIDs:    []string{"GPU-aaa", "GPU-bbb"},
					Capabilities: [][]string{{"gpu"}},
				}}
			},
		},
		{
			name:    "no gpus, nvidia mode: void",
			cfg:     func(c *Config) { c.GPUMode = GPUModeNvidia },
			wantCfg: func(c *container.Config) { c.Env[3] = "NVIDIA_VISIBLE_DEVICES=void" },
		},
		{
			name:  "gpus, cdi mode",
			alloc: func(a *api.Allocation) { a.GPUs = gpus },
			cfg:   func(c *Config) { c.GPUMode = GPUModeCDI },
			wantCfg: func(c *container.Config) {
				c.Env[3] = "NVIDIA_VISIBLE_DEVICES=GPU-aaa,GPU-bbb"
				c.Env[4] = "CUDA_VISIBLE_DEVICES=GPU-aaa,GPU-bbb"
			},
			wantHostC: func(h *container.HostConfig) {
				h.Resources.DeviceRequests = []container.DeviceRequest{{
					Driver:    "cdi",
					DeviceIDs: []string{"nvidia.com/gpu=GPU-aaa", "nvidia.com/gpu=GPU-bbb"},
				}}
			},
		},
		{
			name:  "workspace: bind mount, working dir and variable",
			alloc: func(a *api.Allocation) { a.Task.WorkingDir, a.Task.Workspace = "", &api.Workspace{ID: "run-1"} },
			prep:  executor.Prepared{WorkspaceDir: "/var/lib/phalanx/workspaces/run-1"},
			wantCfg: func(c *container.Config) {
				c.WorkingDir = "/workspace"
				c.Env = append(c.Env, "PHALANX_WORKSPACE=/workspace")
			},
			wantHostC: func(h *container.HostConfig) {
				h.Mounts = []mount.Mount{{Type: mount.TypeBind, Source: "/var/lib/phalanx/workspaces/run-1", Target: "/workspace"}}
			},
		},
		{
			name: "workspace at its own path; the task's working dir wins",
			alloc: func(a *api.Allocation) {
				a.Task.Workspace = &api.Workspace{ID: "run-1", MountPath: "/src"}
				a.Task.Env["PHALANX_WORKSPACE"] = "/elsewhere"
			},
			prep:    executor.Prepared{WorkspaceDir: "/ws/run-1"},
			wantCfg: func(c *container.Config) { c.Env = append(c.Env, "PHALANX_WORKSPACE=/src") },
			wantHostC: func(h *container.HostConfig) {
				h.Mounts = []mount.Mount{{Type: mount.TypeBind, Source: "/ws/run-1", Target: "/src"}}
			},
		},
		{
			name:  "no workspace prepared: nothing mounted",
			alloc: func(a *api.Allocation) { a.Task.Workspace = &api.Workspace{ID: "run-1"} },
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			alloc, cfg := base(), DefaultConfig()
			if tc.alloc != nil {
				tc.alloc(alloc)
			}
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			wc, wh := wantConfig(), wantHost()
			if tc.wantCfg != nil {
				tc.wantCfg(wc)
			}
			if tc.wantHostC != nil {
				tc.wantHostC(wh)
			}
			gotC, gotH, name := containerSpec(alloc, tc.prep, cfg)
			if name != "phalanx-a1" {
				t.Errorf("name = %q, want phalanx-a1", name)
			}
			if diff := cmp.Diff(wc, gotC); diff != "" {
				t.Errorf("container.Config (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(wh, gotH); diff != "" {
				t.Errorf("container.HostConfig (-want +got):\n%s", diff)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Errorf("DefaultConfig: %v", err)
	}
	if diff := cmp.Diff(DefaultConfig(), Config{}.withDefaults()); diff != "" {
		t.Errorf("zero Config with defaults (-want +got):\n%s", diff)
	}
	for _, c := range []Config{
		{PidsLimit: -1, GPUMode: "env", LogMaxSize: "10m"},
		{PidsLimit: 1, GPUMode: "amd", LogMaxSize: "10m"},
		{PidsLimit: 1, GPUMode: "env", LogMaxSize: "lots"},
	} {
		if err := c.Validate(); err == nil {
			t.Errorf("Validate(%+v) = nil", c)
		}
	}
}
