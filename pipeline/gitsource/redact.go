package gitsource

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/transport"
)

// classes are the conditions a caller may branch on; a redacted error keeps
// those its cause matched, and nothing else of the cause, so that no
// unwrapped error can show a secret.
var classes = []error{
	ErrCommitNotFound,
	ErrRefNotFound,
	fs.ErrNotExist,
	fs.ErrExist,
	transport.ErrAuthenticationRequired,
	transport.ErrAuthorizationFailed,
	transport.ErrRepositoryNotFound,
	transport.ErrEmptyRemoteRepository,
	context.Canceled,
	context.DeadlineExceeded,
}

// redactedError is an error whose text has had every secret replaced by
// "***". It unwraps to the classes its cause matched.
type redactedError struct {
	msg     string
	matched []error
}

func (e *redactedError) Error() string   { return e.msg }
func (e *redactedError) Unwrap() []error { return e.matched }

// redact returns err with every non-empty secret removed from its text,
// on one line.
func redact(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	for _, s := range secrets {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, "***")
		}
	}
	// Causes from servers end in newlines or empty details ("repository
	// not found: "); keep the message on one line.
	msg = strings.Join(strings.Fields(msg), " ")
	msg = strings.TrimSuffix(strings.ReplaceAll(msg, ": (", " ("), ":")
	e := &redactedError{msg: msg}
	for _, c := range classes {
		if errors.Is(err, c) {
			e.matched = append(e.matched, c)
		}
	}
	return e
}

// errorf is fmt.Errorf followed by redact.
func (r *remote) errorf(format string, args ...any) error {
	return redact(fmt.Errorf(format, args...), r.secrets...)
}
