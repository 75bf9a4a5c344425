package main

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestShippedConfigsLoad(t *testing.T) {
	var s serverFile
	if err := loadConfig(filepath.Join("..", "..", "configs", "server.yaml"), &s); err != nil {
		t.Fatal(err)
	}
	if s.NodeID != "server-1" || s.BootstrapExpect != 1 || len(s.Join) != 0 {
		t.Errorf("server.yaml decoded as %+v", s)
	}
	var a agentFile
	if err := loadConfig(filepath.Join("..", "..", "configs", "agent.yaml"), &a); err != nil {
		t.Fatal(err)
	}
	if a.Runtime != "auto" || a.Labels["pool"] != "default" || a.PidsLimit != 4096 {
		t.Errorf("agent.yaml decoded as %+v", a)
	}
}

func TestConfigErrorsNameFileAndLine(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"unknown field", "server: a\nsevrer: b\n", "agent.yaml:2: field sevrer not found in type main.agentFile"},
		{"wrong type", "pids_limit: lots\n", "agent.yaml:1: cannot unmarshal !!str `lots` into int64"},
		{"syntax", "server: [\n", "agent.yaml:1: did not find expected node content"},
		{"two documents", "server: a\n---\nserver: b\n", "agent.yaml:2: one document per config file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a agentFile
			err := decodeConfig("agent.yaml", []byte(tt.in), &a)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("got %v, want %q", err, tt.want)
			}
		})
	}
	var a agentFile
	if err := decodeConfig("agent.yaml", nil, &a); err != nil {
		t.Errorf("empty file: %v", err)
	}
}

func TestConfigPath(t *testing.T) {
	for args, want := range map[string]string{
		"--config a.yaml --x": "a.yaml", "-config=b.yaml": "b.yaml", "--x 1": "", "--config": "",
	} {
		if got := configPath(strings.Fields(args)); got != want {
			t.Errorf("%q: got %q, want %q", args, got, want)
		}
	}
}

// FuzzConfig: any bytes give a config or an error that names the file,
// never a panic.
func FuzzConfig(f *testing.F) {
	f.Add([]byte("server: 127.0.0.1:7400\nlabels: {a: b}\n"))
	f.Add([]byte("pids_limit: 12\ngpus: mock:dgxa100\n"))
	f.Add([]byte("node_id: s1\nbootstrap: false\n"))
	f.Add([]byte("[1, 2"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var a agentFile
		if err := decodeConfig("c.yaml", b, &a); err != nil {
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(line, "c.yaml") {
					t.Fatalf("error line does not name the file: %q", line)
				}
			}
		}
		var s serverFile
		_ = decodeConfig("c.yaml", b, &s)
	})
}
