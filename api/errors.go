package api

import "errors"

// Sentinel errors that callers branch on; the HTTP layer maps them to
// status codes and the client maps status codes back to them.
var (
	ErrNotFound  = errors.New("not found")       // 404
	ErrConflict  = errors.New("conflict")        // 409
	ErrNotLeader = errors.New("not the leader")  // 503, retry another server
	ErrInvalid   = errors.New("invalid request") // 400
	// ErrUnknownOutcome: the write may or may not have been applied (the
	// leader changed while it was in flight). Retry only with an
	// idempotency key, or read to find out.
	ErrUnknownOutcome = errors.New("outcome unknown") // 504
)
