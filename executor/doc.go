// Package executor is the agent that runs on every executor node: it
// registers the node's CPU, memory and GPUs with the servers, heartbeats,
// long-polls for the node's allocations, runs them through a Runtime
// (executor/docker or executor/host), reports how they end, and keeps
// their logs (executor/logs), which it serves over HTTP to the servers.
//
// The agent never loses a report: state changes queue in order and are
// retried until a server accepts them. Stopping the agent does not stop
// its tasks.
//
// Before it starts a pipeline step (a task with a Workspace) the agent
// makes the run's workspace under <DataDir>/workspaces, checks the commit
// out into it once (Config.Checkout), and passes its host path to the
// runtime (Prepared); workspaces nothing holds or wants are removed after
// Config.WorkspaceGrace. Every task's output passes through a
// logs.Masker that hides the values of its SecretEnv variables and its
// checkout token before the log store sees them.
package executor
