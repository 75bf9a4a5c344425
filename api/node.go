package api

import "time"

// NodeStatus is whether a node takes work.
type NodeStatus string

const (
	NodeReady NodeStatus = "ready"
	NodeDown  NodeStatus = "down"
)

// Node is an executor host as registered with the control plane.
type Node struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Address is the agent's HTTP address (host:port); servers fetch
	// allocation logs from it.
	Address string            `json:"address"`
	Status  NodeStatus        `json:"status"`
	Labels  map[string]string `json:"labels,omitempty"`
	// Runtime is the agent's runtime: "docker" or "exec".
	Runtime string `json:"runtime"`
	// Resources is what the node offers to allocations in total; GPUs are
	// listed in GPUs and Resources.GPUs is their count.
	Resources     Resources `json:"resources"`
	GPUs          []GPU     `json:"gpu_devices"`
	LastHeartbeat time.Time `json:"last_heartbeat"`
	CreateIndex   uint64    `json:"create_index"`
	ModifyIndex   uint64    `json:"modify_index"`
}

// GPU is one whole GPU of a node.
type GPU struct {
	Index       int    `json:"index"`
	UUID        string `json:"uuid"`
	Model       string `json:"model"`
	MemoryBytes int64  `json:"memory_bytes"`
	PCIBusID    string `json:"pci_bus_id,omitempty"`
	Healthy     bool   `json:"healthy"`
	// Mock is true for GPUs served by go-nvml's mock servers.
	Mock bool `json:"mock,omitempty"`
}
