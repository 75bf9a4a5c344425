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
	Resources Resources `json:"resources"`
	GPUs      []GPU     `json:"gpu_devices"`
	// Ports is the range of host ports the scheduler hands out on this
	// node, e.g. a gang's rendezvous port (MASTER_PORT).
	Ports PortRange `json:"ports"`
	// Drain, when set, says the node takes no new work: it is being
	// emptied for maintenance (phalanx node drain).
	Drain         *Drain    `json:"drain,omitempty"`
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
	// NVLinkPeers are the indices of the GPUs this one has an active
	// NVLink to; GPUs connected this way form an NVLink domain.
	NVLinkPeers []int `json:"nvlink_peers,omitempty"`
	Healthy     bool  `json:"healthy"`
	// Unhealthy says why a GPU is not healthy ("XID 79 at ..."); the
	// scheduler places nothing on it until an operator recovers it.
	Unhealthy string `json:"unhealthy,omitempty"`
	// Mock is true for GPUs served by go-nvml's mock servers.
	Mock bool `json:"mock,omitempty"`
}

// PortRange is an inclusive range of host ports.
type PortRange struct {
	Min int `json:"min"`
	Max int `json:"max"`
}

// DefaultPorts is the range agents offer unless configured otherwise.
var DefaultPorts = PortRange{Min: 29500, Max: 29999}

// GPUHealth is what an agent (a GPU failed) or an operator (it was
// recovered) says about one GPU.
type GPUHealth struct {
	UUID    string `json:"uuid"`
	Healthy bool   `json:"healthy"`
	Reason  string `json:"reason,omitempty"`
}

// Drain is a node's drain: no new work from Since on, and what still runs
// at Deadline (if set) is moved to other nodes.
type Drain struct {
	Since    time.Time `json:"since"`
	Deadline time.Time `json:"deadline,omitzero"`
}
