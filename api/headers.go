package api

// LeaderHeader is on every response of a server's HTTP API: the leader's
// HTTP address as that server knows it. A client that reached a follower
// sends its next requests to the leader and saves the forwarding hop.
const LeaderHeader = "X-Phalanx-Leader"

// AgentHeader is on the requests an executor's agent makes for its node:
// the node's ID. A server takes an allocation poll or a report that
// carries it as that node's heartbeat, and says so with HeardHeader; a
// request without it (a person's, a dashboard's) keeps no node alive.
const AgentHeader = "X-Phalanx-Agent"

// HeardHeader, on the answer to a request with AgentHeader, says the
// leader counted the request as the node's heartbeat. An agent skips a
// heartbeat only for such answers, so that servers that do not count
// requests (older ones) still hear heartbeats.
const HeardHeader = "X-Phalanx-Heard"
