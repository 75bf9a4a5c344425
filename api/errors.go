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

// FieldError is a request refused because of one field of what the user
// submitted, such as a job's spec.queue naming no queue. It is an
// ErrInvalid; the HTTP layer adds the file name and line.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// Is makes a FieldError match ErrInvalid.
func (e *FieldError) Is(target error) bool { return target == ErrInvalid }
