package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// serverFile is the YAML of `phalanx server --config F`; see
// configs/server.yaml. Flags given on the command line win.
type serverFile struct {
	NodeID            string   `yaml:"node_id"`
	DataDir           string   `yaml:"data_dir"`
	HTTPAddr          string   `yaml:"http_addr"`
	RaftAddr          string   `yaml:"raft_addr"`
	AdvertiseHTTP     string   `yaml:"advertise_http"`
	AdvertiseRaft     string   `yaml:"advertise_raft"`
	BootstrapExpect   int      `yaml:"bootstrap_expect"`
	Join              []string `yaml:"join"`
	HeartbeatTTL      string   `yaml:"heartbeat_ttl"`
	MaxRequestBody    string   `yaml:"max_request_body"`
	SnapshotThreshold uint64   `yaml:"snapshot_threshold"`
	SnapshotInterval  string   `yaml:"snapshot_interval"`
	QueuesFile        string   `yaml:"queues_file"`
	RaftMultiplier    int      `yaml:"raft_multiplier"`
	PreemptionGap     int      `yaml:"preemption_gap"`
}

// agentFile is the YAML of `phalanx agent --config F`; see
// configs/agent.yaml.
type agentFile struct {
	Server            string            `yaml:"server"`
	NodeName          string            `yaml:"node_name"`
	DataDir           string            `yaml:"data_dir"`
	HTTPAddr          string            `yaml:"http_addr"`
	Advertise         string            `yaml:"advertise"`
	Runtime           string            `yaml:"runtime"`
	GPUs              string            `yaml:"gpus"`
	GPUMode           string            `yaml:"gpu_mode"`
	CPU               string            `yaml:"cpu"`
	Memory            string            `yaml:"memory"`
	Labels            map[string]string `yaml:"labels"`
	LogMax            string            `yaml:"log_max"`
	PidsLimit         int64             `yaml:"pids_limit"`
	Ports             string            `yaml:"ports"`
	HeartbeatInterval string            `yaml:"heartbeat_interval"`
}

const maxConfigBytes = 1 << 20

var yamlLine = regexp.MustCompile(`line (\d+): `)

// loadConfig decodes a config file strictly: unknown fields are errors,
// and every error names the file and line ("agent.yaml:4: ...").
func loadConfig(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	return decodeConfig(path, b, v)
}

func decodeConfig(name string, b []byte, v any) error {
	if len(b) > maxConfigBytes {
		return fmt.Errorf("%s: config file over %d bytes", name, maxConfigBytes)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	err := dec.Decode(v)
	if errors.Is(err, io.EOF) {
		return nil // an empty file: all defaults
	}
	if err != nil {
		var lines []string
		for _, l := range strings.Split(strings.TrimPrefix(err.Error(), "yaml: "), "\n") {
			l = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l), "unmarshal errors:"))
			if l == "" {
				continue
			}
			if m := yamlLine.FindStringSubmatchIndex(l); m != nil && m[0] == 0 {
				l = name + ":" + l[m[2]:m[3]] + ": " + l[m[1]:]
			} else {
				l = name + ": " + l
			}
			lines = append(lines, l)
		}
		return errors.New(strings.Join(lines, "\n"))
	}
	var extra yaml.Node
	if dec.Decode(&extra) == nil {
		return fmt.Errorf("%s:%d: one document per config file", name, extra.Line)
	}
	return nil
}

// configPath finds --config/-config in args before the flags are parsed,
// so file values can become the flags' defaults.
func configPath(args []string) string {
	for i, a := range args {
		for _, p := range []string{"--config=", "-config="} {
			if strings.HasPrefix(a, p) {
				return a[len(p):]
			}
		}
		if (a == "--config" || a == "-config") && i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}

func or(v, def string) string {
	if v != "" {
		return v
	}
	return def
}
