// Package executor is the agent that runs on every executor node: it
// registers the node's CPU, memory and GPUs with the servers, heartbeats,
// long-polls for the node's allocations, runs them through a Runtime
// (executor/docker or executor/host), reports how they end, and keeps
// their logs (executor/logs), which it serves over HTTP to the servers.
//
// The agent never loses a report: state changes queue in order and are
// retried until a server accepts them. Stopping the agent does not stop
// its tasks.
package executor
