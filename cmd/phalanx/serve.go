package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/phalanx-sched/phalanx/api"
	"github.com/phalanx-sched/phalanx/api/client"
	"github.com/phalanx-sched/phalanx/api/handler"
	"github.com/phalanx-sched/phalanx/api/jobspec"
	"github.com/phalanx-sched/phalanx/api/queuespec"
	"github.com/phalanx-sched/phalanx/executor"
	"github.com/phalanx-sched/phalanx/executor/docker"
	"github.com/phalanx-sched/phalanx/executor/host"
	"github.com/phalanx-sched/phalanx/executor/logs"
	"github.com/phalanx-sched/phalanx/executor/sim"
	"github.com/phalanx-sched/phalanx/gpu"
	"github.com/phalanx-sched/phalanx/scheduler/server"
)

// serverFlags are the flags of `phalanx server` (and, in part, `dev`).
type serverFlags struct {
	advertiseHTTP, advertiseRaft                            string
	snapThreshold                                           uint64
	snapInterval                                            string
	nodeID, dataDir, httpAddr, raftAddr, ttl, maxBody, join string
	bootstrapExpect                                         int
	queuesFile                                              string
	raftMultiplier                                          int
	preemptionGap                                           int
}

func (f *serverFlags) register(fs *flag.FlagSet, file serverFile, dev bool) {
	def := server.DefaultConfig()
	dataDir := or(file.DataDir, filepath.Dir(def.DataDir))
	if dev {
		dataDir = "phalanx-data"
	}
	fs.StringVar(&f.dataDir, "data-dir", dataDir, "directory for Raft state and logs")
	fs.StringVar(&f.httpAddr, "http-addr", or(file.HTTPAddr, "127.0.0.1:7400"), "HTTP API listen address")
	fs.StringVar(&f.raftAddr, "raft-addr", or(file.RaftAddr, def.RaftAddr), "Raft TCP listen address")
	fs.StringVar(&f.ttl, "heartbeat-ttl", or(file.HeartbeatTTL, def.HeartbeatTTL.String()), "mark a node down after this long without a heartbeat")
	fs.StringVar(&f.maxBody, "max-request-body", or(file.MaxRequestBody, "4Mi"), "largest accepted request body")
	thr := def.SnapshotThreshold
	if file.SnapshotThreshold > 0 {
		thr = file.SnapshotThreshold
	}
	fs.Uint64Var(&f.snapThreshold, "snapshot-threshold", thr, "take a Raft snapshot, and compact the log, after this many new entries")
	fs.StringVar(&f.snapInterval, "snapshot-interval", or(file.SnapshotInterval, def.SnapshotInterval.String()), "how often to check the snapshot threshold")
	fs.IntVar(&f.raftMultiplier, "raft-multiplier", max(file.RaftMultiplier, 1), "scale Raft's timeouts (1 to 10): raise on overloaded machines where leadership flaps; failover slows as much")
	fs.StringVar(&f.queuesFile, "queues", file.QueuesFile, "a queue file (as `phalanx queue apply` takes) whose queues the leader creates or updates when it takes over")
	fs.IntVar(&f.preemptionGap, "preemption-gap", file.PreemptionGap, "priority points a job must be above a running job of its queue to preempt it (0: 10; negative: never within a queue)")
	if !dev {
		fs.StringVar(&f.nodeID, "node-id", or(file.NodeID, def.NodeID), "this server's stable Raft ID")
		fs.StringVar(&f.advertiseHTTP, "advertise-http", file.AdvertiseHTTP, "the HTTP address other servers and clients reach this one on (default: --http-addr; needed when that is 0.0.0.0)")
		fs.StringVar(&f.advertiseRaft, "advertise-raft", file.AdvertiseRaft, "the Raft address other servers dial (default: --raft-addr; needed when that is 0.0.0.0)")
		fs.IntVar(&f.bootstrapExpect, "bootstrap-expect", max(file.BootstrapExpect, 1),
			"start a new cluster once this many servers (this one and those --join names) have found each other; 1: a cluster of one")
		fs.StringVar(&f.join, "join", strings.Join(file.Join, ","), "HTTP addresses of other servers (comma-separated): to form a new cluster with --bootstrap-expect, or to join an existing one")
	}
}

func (f *serverFlags) config(dev bool) (server.Config, handler.Config, error) {
	cfg := server.DefaultConfig()
	cfg.DataDir = filepath.Join(f.dataDir, "server")
	cfg.RaftAddr, cfg.HTTPAddr = f.raftAddr, f.httpAddr
	if !dev {
		cfg.RaftAdvertise = f.advertiseRaft
		if f.advertiseHTTP != "" {
			cfg.HTTPAddr = f.advertiseHTTP
		}
		if host, _, err := net.SplitHostPort(cfg.HTTPAddr); err == nil && (host == "" || net.ParseIP(host).IsUnspecified()) {
			return cfg, handler.Config{}, fmt.Errorf("--http-addr %s is not an address other servers can reach: set --advertise-http", f.httpAddr)
		}
	}
	if !dev {
		cfg.NodeID = f.nodeID
		cfg.Bootstrap = f.bootstrapExpect == 1 && f.join == ""
		if f.bootstrapExpect < 1 || f.bootstrapExpect > 9 {
			return cfg, handler.Config{}, fmt.Errorf("--bootstrap-expect %d: want 1 to 9 (3 or 5 for a highly available cluster)", f.bootstrapExpect)
		}
		if f.bootstrapExpect > 1 && f.join == "" {
			return cfg, handler.Config{}, fmt.Errorf("--bootstrap-expect %d needs --join with the other servers' HTTP addresses", f.bootstrapExpect)
		}
	}
	ttl, err := time.ParseDuration(f.ttl)
	if err != nil {
		return cfg, handler.Config{}, fmt.Errorf("--heartbeat-ttl: %w", err)
	}
	cfg.HeartbeatTTL = ttl
	cfg.SnapshotThreshold = f.snapThreshold
	if cfg.SnapshotInterval, err = time.ParseDuration(f.snapInterval); err != nil {
		return cfg, handler.Config{}, fmt.Errorf("--snapshot-interval: %w", err)
	}
	cfg.PreemptionGap = f.preemptionGap
	cfg.RaftMultiplier = f.raftMultiplier
	if f.queuesFile != "" {
		b, err := os.ReadFile(f.queuesFile)
		if err != nil {
			return cfg, handler.Config{}, fmt.Errorf("--queues: %w", err)
		}
		if cfg.Queues, err = queuespec.Parse(f.queuesFile, b); err != nil {
			return cfg, handler.Config{}, err
		}
	}
	hc := handler.DefaultConfig()
	if hc.MaxBodyBytes, err = jobspec.ParseBytes(f.maxBody); err != nil {
		return cfg, hc, fmt.Errorf("--max-request-body: %w", err)
	}
	if err := cfg.Validate(); err != nil {
		return cfg, hc, err
	}
	return cfg, hc, hc.Validate()
}

// serverGCPercent is the garbage collector's target (Go's GOGC) in the
// processes that hold a cluster's state: servers, `phalanx dev`, and an
// agent simulating thousands of nodes. Their heap is large and long-lived
// and they allocate fast; at Go's default of 100 the collector took about
// a sixth of the machine in the throughput benchmark, and 200 halves that
// for a peak heap about half again as large. GOGC in the environment
// wins.
const serverGCPercent = 200

func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(serverGCPercent)
	}
}

// startServer starts Raft and the HTTP API; stop undoes both.
func startServer(cfg server.Config, hc handler.Config, httpAddr string) (srv *server.Server, stop func(), err error) {
	tuneGC()
	ln, err := net.Listen("tcp", httpAddr)
	if err != nil {
		return nil, nil, fmt.Errorf("HTTP API: %w (is another phalanx running? pick another --http-addr)", err)
	}
	srv, err = server.New(cfg)
	if err != nil {
		ln.Close()
		return nil, nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(srv.Collector(), collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	hc.Metrics = promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	h, err := handler.New(srv, hc)
	if err != nil {
		ln.Close()
		srv.Shutdown()
		return nil, nil, err
	}
	// Idle connections close after a minute: clients that moved to
	// another server (a new leader) do not hold file descriptors here.
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: time.Minute}
	go func() {
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Printf("server: HTTP: %v", err)
		}
	}()
	return srv, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = hs.Shutdown(ctx)
		if err := srv.Shutdown(); err != nil {
			log.Printf("server: shutdown: %v", err)
		}
	}, nil
}

func cmdServer(args []string, stdout, stderr io.Writer) error {
	var file serverFile
	if p := configPath(args); p != "" {
		if err := loadConfig(p, &file); err != nil {
			return err
		}
	}
	fs := newFlags("server", stderr)
	fs.String("config", "", "YAML config file (see configs/server.yaml); flags win over it")
	var f serverFlags
	f.register(fs, file, false)
	if _, err := parse(fs, args, 0, 0, "no arguments"); err != nil {
		return err
	}
	cfg, hc, err := f.config(false)
	if err != nil {
		return err
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	srv, stop, err := startServer(cfg, hc, f.httpAddr)
	if err != nil {
		return err
	}
	defer stop()
	fmt.Fprintf(stdout, "phalanx server %s: HTTP on %s, Raft on %s, data in %s\n", cfg.NodeID, f.httpAddr, cfg.RaftAddr, cfg.DataDir)
	if f.join != "" && !srv.HasState() {
		go formCluster(ctx, srv, f.bootstrapExpect, f.join, stdout)
	}
	<-ctx.Done()
	fmt.Fprintln(stdout, "phalanx server: shutting down")
	return nil
}

// formCluster brings a server with no Raft state into a cluster. It asks
// every --join server who it is, once a second, until this server is in a
// cluster:
//   - if one of them already belongs to a cluster, it asks that cluster to
//     add this server (a server never bootstraps a second cluster);
//   - otherwise, with expect > 1, once exactly expect servers (this one
//     included) know each other, every one of them bootstraps the same
//     configuration; finding more than expect is an operator's mistake,
//     said loudly, and nothing is bootstrapped.
func formCluster(ctx context.Context, srv *server.Server, expect int, join string, out io.Writer) {
	self := srv.Self()
	for ctx.Err() == nil && !srv.HasState() {
		known := map[string]api.Server{self.ID: self}
		member := ""
		for _, p := range strings.Split(join, ",") {
			pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			c := client.New(p)
			c.Rounds = 1
			sv, err := c.Self(pctx)
			cancel()
			if err != nil || sv.ID == "" {
				continue
			}
			if sv.ID == self.ID && sv.RaftAddr != self.RaftAddr {
				log.Printf("server: ERROR: server %s at %s uses this server's ID %q: give each server its own --node-id", p, sv.RaftAddr, self.ID)
				continue
			}
			if sv.InCluster && sv.ID != self.ID {
				member = p
			}
			known[sv.ID] = *sv
		}
		switch {
		case member != "":
			pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			err := client.New(member).AddPeer(pctx, self)
			cancel()
			if err == nil {
				fmt.Fprintf(out, "phalanx server %s: joined the cluster through %s\n", self.ID, member)
				return
			}
			log.Printf("server: join through %s: %v (retrying)", member, err)
		case expect > 1 && len(known) > expect:
			log.Printf("server: ERROR: found %d servers, more than --bootstrap-expect %d: not bootstrapping; fix --join or --bootstrap-expect", len(known), expect)
		case expect > 1 && len(known) == expect:
			var all []api.Server
			for _, sv := range known {
				sv.InCluster = false
				all = append(all, sv)
			}
			if err := srv.Bootstrap(all); err != nil {
				log.Printf("server: %v", err)
			} else {
				fmt.Fprintf(out, "phalanx server %s: bootstrapped a cluster of %d servers\n", self.ID, len(all))
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// agentFlags are the flags of `phalanx agent` (and, in part, `dev`).
type agentFlags struct {
	server, name, dataDir, httpAddr, advertise, runtime, gpus, gpuMode string
	cpu, memory, logMax, heartbeat, ports                              string
	labels                                                             labelFlag
	pidsLimit                                                          int64
	simNodes, simGPUs                                                  int
	workspaceGrace, checkoutTimeout                                    time.Duration
}

func (f *agentFlags) register(fs *flag.FlagSet, file agentFile, dev bool) {
	def := executor.DefaultConfig()
	if !dev {
		fs.StringVar(&f.server, "server", or(file.Server, def.Server), "a server's HTTP address")
		fs.StringVar(&f.dataDir, "data-dir", or(file.DataDir, def.DataDir), "directory for the node ID, logs and work dirs")
		fs.StringVar(&f.httpAddr, "http-addr", or(file.HTTPAddr, "127.0.0.1:7402"), "agent HTTP listen address (servers fetch logs here)")
		fs.StringVar(&f.advertise, "advertise", file.Advertise, "address servers reach the agent on (default: --http-addr)")
	}
	hostname, _ := os.Hostname()
	fs.StringVar(&f.name, "name", or(file.NodeName, hostname), "node name")
	fs.StringVar(&f.runtime, "runtime", or(file.Runtime, "auto"), "auto (docker if the engine answers, else exec), docker, or exec")
	fs.StringVar(&f.gpus, "gpus", or(file.GPUs, "none"), "GPU discovery: "+strings.Join(gpu.Sources(), ", "))
	fs.StringVar(&f.gpuMode, "gpu-mode", or(file.GPUMode, "nvidia"), "how containers get GPUs: nvidia (device requests), cdi, or env (environment only)")
	fs.StringVar(&f.cpu, "cpu", file.CPU, "CPU to offer, e.g. 4 or 3500m (default: all)")
	fs.StringVar(&f.memory, "memory", file.Memory, "memory to offer, e.g. 16Gi (default: all)")
	fs.StringVar(&f.logMax, "log-max", or(file.LogMax, "10Mi"), "log kept per allocation")
	fs.StringVar(&f.heartbeat, "heartbeat-interval", or(file.HeartbeatInterval, def.HeartbeatInterval.String()), "how often to heartbeat")
	fs.StringVar(&f.ports, "ports", or(file.Ports, fmt.Sprintf("%d-%d", api.DefaultPorts.Min, api.DefaultPorts.Max)), "host ports the scheduler may reserve here, e.g. for a gang's MASTER_PORT")
	fs.Int64Var(&f.pidsLimit, "pids-limit", max(file.PidsLimit, 0), "PID limit per container (default 4096)")
	f.labels = labelFlag(file.Labels)
	fs.Var(&f.labels, "label", "node label key=value (repeatable)")
	fs.DurationVar(&f.workspaceGrace, "workspace-grace", def.WorkspaceGrace, "keep a pipeline run's workspace this long after its last step on this node")
	fs.DurationVar(&f.checkoutTimeout, "checkout-timeout", executor.DefaultCheckoutTimeout, "give up a pipeline run's git checkout after this long (the step fails and may be retried)")
}

// agent builds an agent from the flags: GPU discovery, runtime, config.
func (f *agentFlags) agent(ctx context.Context, stderr io.Writer) (*executor.Agent, error) {
	cfg := executor.DefaultConfig()
	cfg.Server, cfg.NodeName, cfg.DataDir, cfg.Labels = f.server, f.name, f.dataDir, f.labels
	cfg.Address = or(f.advertise, f.httpAddr)
	cfg.WorkspaceGrace = f.workspaceGrace
	cfg.CheckoutTimeout = f.checkoutTimeout
	var err error
	if f.cpu != "" {
		if cfg.CPUMilli, err = jobspec.ParseCPU(f.cpu); err != nil {
			return nil, fmt.Errorf("--cpu: %w", err)
		}
	} else {
		cfg.CPUMilli = executor.HostCPUMilli()
	}
	if f.memory != "" {
		if cfg.MemoryBytes, err = jobspec.ParseBytes(f.memory); err != nil {
			return nil, fmt.Errorf("--memory: %w", err)
		}
	} else if cfg.MemoryBytes, err = executor.HostMemoryBytes(); err != nil {
		return nil, fmt.Errorf("host memory: %w (pass --memory)", err)
	}
	if cfg.LogMaxBytes, err = jobspec.ParseBytes(f.logMax); err != nil {
		return nil, fmt.Errorf("--log-max: %w", err)
	}
	if cfg.HeartbeatInterval, err = time.ParseDuration(f.heartbeat); err != nil {
		return nil, fmt.Errorf("--heartbeat-interval: %w", err)
	}
	if cfg.Ports, err = parsePortRange(f.ports); err != nil {
		return nil, fmt.Errorf("--ports: %w", err)
	}
	src, inv, err := discoverGPUs(f.gpus, stderr)
	if err != nil {
		return nil, err
	}
	cfg.GPUs, cfg.GPUSource = inv.API(), src
	rt, err := f.openRuntime(ctx, inv.Mock, stderr)
	if err != nil {
		return nil, err
	}
	return executor.New(cfg, rt)
}

// discoverGPUs runs GPU discovery. With --gpus nvml and no driver, the
// agent says so and runs without GPUs. The discoverer stays open for the
// agent's life: it watches GPU health and samples metrics.
func discoverGPUs(kind string, stderr io.Writer) (gpu.Discoverer, gpu.Inventory, error) {
	d, err := gpu.Open(kind)
	if errors.Is(err, gpu.ErrNoDriver) {
		fmt.Fprintf(stderr, "phalanx: WARNING: %v; this node offers no GPUs\n", err)
		return nil, gpu.Inventory{Source: gpu.SourceNone}, nil
	}
	if err != nil {
		return nil, gpu.Inventory{}, fmt.Errorf("--gpus: %w", err)
	}
	inv, err := d.Discover()
	if err != nil {
		d.Close()
		return nil, gpu.Inventory{}, fmt.Errorf("GPU discovery: %w", err)
	}
	if inv.Mock {
		fmt.Fprintf(stderr, "phalanx: using %d mock GPUs from %s (simulated: no real GPU is given to containers)\n", len(inv.Devices), inv.Source)
	}
	return d, inv, nil
}

func (f *agentFlags) openRuntime(ctx context.Context, mockGPUs bool, stderr io.Writer) (executor.Runtime, error) {
	dcfg := docker.DefaultConfig()
	dcfg.GPUMode = f.gpuMode
	if f.pidsLimit > 0 {
		dcfg.PidsLimit = f.pidsLimit
	}
	if mockGPUs && dcfg.GPUMode != "env" {
		fmt.Fprintf(stderr, "phalanx: mock GPUs: containers get NVIDIA_VISIBLE_DEVICES/CUDA_VISIBLE_DEVICES only (gpu-mode env instead of %s)\n", dcfg.GPUMode)
		dcfg.GPUMode = "env"
	}
	execRT := func() (executor.Runtime, error) {
		return host.New(host.Config{WorkDir: filepath.Join(f.dataDir, "work")})
	}
	switch f.runtime {
	case "exec":
		return execRT()
	case "docker", "auto":
		if err := dcfg.Validate(); err != nil {
			return nil, err
		}
		rt, err := docker.New(dcfg)
		if err == nil {
			pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			err = rt.Ping(pctx)
			cancel()
		}
		if err == nil {
			return rt, nil
		}
		if f.runtime == "docker" {
			return nil, fmt.Errorf("docker runtime: the Docker Engine does not answer: %w", err)
		}
		fmt.Fprintf(stderr, "\n"+
			"phalanx: WARNING: ************************************************************\n"+
			"phalanx: WARNING: the Docker Engine does not answer (%v).\n"+
			"phalanx: WARNING: falling back to the exec runtime: tasks run as HOST PROCESSES,\n"+
			"phalanx: WARNING: with no image, no isolation and no resource limits.\n"+
			"phalanx: WARNING: ************************************************************\n\n", err)
		return execRT()
	}
	return nil, fmt.Errorf("--runtime %q: want auto, docker or exec: %w", f.runtime, errUsage)
}

func cmdAgent(args []string, stdout, stderr io.Writer) error {
	var file agentFile
	if p := configPath(args); p != "" {
		if err := loadConfig(p, &file); err != nil {
			return err
		}
	}
	fs := newFlags("agent", stderr)
	fs.String("config", "", "YAML config file (see configs/agent.yaml); flags win over it")
	var f agentFlags
	f.register(fs, file, false)
	fs.IntVar(&f.simNodes, "sim-nodes", 0, "run this many simulated nodes instead of this host's one (tasks pretend to run for their SIM_DURATION env, default 0s)")
	fs.IntVar(&f.simGPUs, "sim-gpus", 0, "GPUs each simulated node offers")
	if _, err := parse(fs, args, 0, 0, "no arguments"); err != nil {
		return err
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	ln, err := net.Listen("tcp", f.httpAddr)
	if err != nil {
		return fmt.Errorf("agent HTTP: %w", err)
	}
	if f.simNodes > 0 {
		return runSimNodes(ctx, f, ln, stdout)
	}
	ag, err := f.agent(ctx, stderr)
	if err != nil {
		ln.Close()
		return err
	}
	stop := serveAgent(ln, ag)
	defer stop()
	fmt.Fprintf(stdout, "phalanx agent %s: node %s, server %s, logs served on %s\n", f.name, ag.NodeID(), f.server, ln.Addr())
	return ag.Run(ctx)
}

// runSimNodes runs f.simNodes simulated nodes in this process, each an
// agent of its own on the simulated runtime, all against the real servers.
// Their logs are served from one listener.
func runSimNodes(ctx context.Context, f agentFlags, ln net.Listener, stdout io.Writer) error {
	if f.simNodes > 100000 || f.simGPUs < 0 || f.simGPUs > 64 {
		ln.Close()
		return fmt.Errorf("--sim-nodes %d --sim-gpus %d: want at most 100000 nodes of 0 to 64 GPUs: %w", f.simNodes, f.simGPUs, errUsage)
	}
	tuneGC()
	rt := sim.New()
	var agents []*executor.Agent
	for i := 0; i < f.simNodes; i++ {
		cfg := executor.DefaultConfig()
		cfg.Server, cfg.Address, cfg.Quiet, cfg.Labels = f.server, ln.Addr().String(), true, f.labels
		cfg.NodeName = fmt.Sprintf("%s-sim-%d", f.name, i)
		cfg.DataDir = filepath.Join(f.dataDir, "sim", strconv.Itoa(i))
		cfg.DiscardLogs = true // simulated tasks write nothing; this process serves no logs
		cfg.CPUMilli, cfg.MemoryBytes = 64000, 512<<30
		var err error
		if f.cpu != "" {
			if cfg.CPUMilli, err = jobspec.ParseCPU(f.cpu); err != nil {
				return fmt.Errorf("--cpu: %w", err)
			}
		}
		if f.memory != "" {
			if cfg.MemoryBytes, err = jobspec.ParseBytes(f.memory); err != nil {
				return fmt.Errorf("--memory: %w", err)
			}
		}
		if cfg.HeartbeatInterval, err = time.ParseDuration(f.heartbeat); err != nil {
			return fmt.Errorf("--heartbeat-interval: %w", err)
		}
		for g := 0; g < f.simGPUs; g++ {
			cfg.GPUs = append(cfg.GPUs, api.GPU{Index: g, UUID: fmt.Sprintf("GPU-sim-%s-%d", cfg.NodeName, g),
				Model: "Simulated GPU", MemoryBytes: 80 << 30, Healthy: true, Mock: true})
		}
		ag, err := executor.New(cfg, rt)
		if err != nil {
			return err
		}
		agents = append(agents, ag)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/allocations/{id}/logs", func(w http.ResponseWriter, r *http.Request) {
		for _, ag := range agents {
			if err := ag.Logs().Read(r.PathValue("id"), w); !errors.Is(err, logs.ErrNotFound) {
				return
			}
		}
		http.Error(w, "no such allocation on these simulated nodes", http.StatusNotFound)
	})
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	defer hs.Close()
	fmt.Fprintf(stdout, "phalanx agent: %d simulated nodes (%d GPUs each) against %s\n", f.simNodes, f.simGPUs, f.server)
	var wg sync.WaitGroup
	for _, ag := range agents {
		wg.Add(1)
		go func() { defer wg.Done(); ag.Run(ctx) }()
	}
	wg.Wait()
	return nil
}

func serveAgent(ln net.Listener, ag *executor.Agent) func() {
	hs := &http.Server{Handler: ag.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Printf("agent: HTTP: %v", err)
		}
	}()
	return func() { _ = hs.Close() }
}

func cmdDev(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("dev", stderr)
	var sf serverFlags
	sf.register(fs, serverFile{}, true)
	var af agentFlags
	af.register(fs, agentFile{}, true)
	agents := fs.Int("agents", 1, "how many embedded executors to run (each a node of its own)")
	if _, err := parse(fs, args, 0, 0, "no arguments"); err != nil {
		return err
	}
	if *agents < 1 || *agents > 64 {
		return fmt.Errorf("--agents %d: want 1 to 64: %w", *agents, errUsage)
	}
	cfg, hc, err := sf.config(true)
	if err != nil {
		return err
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	srv, stop, err := startServer(cfg, hc, sf.httpAddr)
	if err != nil {
		return err
	}
	defer stop()
	wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
	err = srv.WaitLeader(wctx)
	wcancel()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "phalanx dev: server on http://%s (Raft %s), state in %s\n", sf.httpAddr, cfg.RaftAddr, sf.dataDir)
	var wg sync.WaitGroup
	errs := make(chan error, *agents)
	for i := 0; i < *agents; i++ {
		ag, stopAgent, err := devAgent(ctx, af, sf, i, *agents, stderr)
		if err != nil {
			cancel()
			wg.Wait()
			return err
		}
		defer stopAgent()
		n := ag.Node()
		fmt.Fprintf(stdout, "phalanx dev: executor %q: runtime %s, %s CPU, %s memory, %s GPUs\n",
			n.Name, n.Runtime, fmtCPU(n.Resources.CPUMilli), fmtBytes(n.Resources.MemoryBytes), gpuSummary(n))
		wg.Add(1)
		go func() { defer wg.Done(); errs <- ag.Run(ctx) }()
	}
	fmt.Fprintf(stdout, "phalanx dev: try `phalanx job run examples/jobs/hello.yaml --wait`; Ctrl-C stops\n")
	select {
	case <-ctx.Done():
	case err = <-errs:
	}
	cancel()
	wg.Wait()
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	fmt.Fprintln(stdout, "phalanx dev: shutting down")
	return nil
}

// devAgent builds and serves the i-th of n embedded executors. With more
// than one, each gets its own name, data dir and port range.
func devAgent(ctx context.Context, af agentFlags, sf serverFlags, i, n int, stderr io.Writer) (*executor.Agent, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	af.server, af.dataDir, af.httpAddr = sf.httpAddr, filepath.Join(sf.dataDir, "agent"), ln.Addr().String()
	if n > 1 {
		af.name = fmt.Sprintf("%s-%d", af.name, i)
		af.dataDir = filepath.Join(sf.dataDir, fmt.Sprintf("agent-%d", i))
		// Executors on one host share its ports: give each its own slice.
		r, err := parsePortRange(af.ports)
		if err != nil {
			ln.Close()
			return nil, nil, fmt.Errorf("--ports: %w", err)
		}
		size := (r.Max - r.Min + 1) / n
		if size < 1 {
			ln.Close()
			return nil, nil, fmt.Errorf("--ports %s is too small for %d executors", af.ports, n)
		}
		af.ports = fmt.Sprintf("%d-%d", r.Min+i*size, r.Min+(i+1)*size-1)
	}
	ag, err := af.agent(ctx, stderr)
	if err != nil {
		ln.Close()
		return nil, nil, err
	}
	return ag, serveAgent(ln, ag), nil
}

// parsePortRange reads "29500-29999".
func parsePortRange(s string) (api.PortRange, error) {
	lo, hi, ok := strings.Cut(s, "-")
	min, err1 := strconv.Atoi(strings.TrimSpace(lo))
	max, err2 := strconv.Atoi(strings.TrimSpace(hi))
	if !ok || err1 != nil || err2 != nil || min < 1 || max > 65535 || min > max {
		return api.PortRange{}, fmt.Errorf("want a range like 29500-29999 within 1-65535, got %q", s)
	}
	return api.PortRange{Min: min, Max: max}, nil
}

// labelFlag collects repeated --label k=v flags.
type labelFlag map[string]string

func (l *labelFlag) String() string { return fmt.Sprint(map[string]string(*l)) }

func (l *labelFlag) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return fmt.Errorf("label %q: want key=value", s)
	}
	if *l == nil {
		*l = map[string]string{}
	}
	(*l)[k] = v
	return nil
}
