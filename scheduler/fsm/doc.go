// Package fsm is the Raft state machine of the control plane.
//
// A log entry is one type byte (a Command) followed by the command's
// payload: JSON, except for the two commands every placement goes through,
// Place and Report, which are binary (wire.go) and carry only what the
// leader decided or the executor saw. Apply is deterministic: it reads no clock, network or
// randomness, only the entry and the current state, so every server
// reaches the same state from the same log. Commands only ever grow: a
// value is never reused. An unknown command (a newer leader wrote it)
// stops the server with a message to upgrade it: Raft drops a follower's
// answer, so refusing it would leave that server's state apart from the
// others' for good. A known command whose payload does not decode is a
// corrupt log and panics too.
//
// Apply returns either an error or the command's response value; callers
// check both raft's future.Error() and the response.
package fsm
