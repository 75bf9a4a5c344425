// Package api holds the wire types Phalanx servers, agents and the CLI
// exchange as JSON: jobs, allocations, nodes and their states.
//
// The package is pure data: it imports no network, disk or clock code, so the
// placement core in package scheduler can depend on it. The job file parser
// lives in api/jobspec, the HTTP client in api/client and the HTTP handlers in
// api/handler.
package api
