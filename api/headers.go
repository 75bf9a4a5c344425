package api

// LeaderHeader is on every response of a server's HTTP API: the leader's
// HTTP address as that server knows it. A client that reached a follower
// sends its next requests to the leader and saves the forwarding hop.
const LeaderHeader = "X-Phalanx-Leader"
