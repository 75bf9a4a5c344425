// Package handler serves the Phalanx HTTP+JSON API over a Backend (the
// control-plane server). Every error is JSON {"error": "..."} with a status
// that says what the client can do: 400 bad input (with the same
// file:line: field: message text the CLI prints), 404 unknown object, 409
// conflict, 413 body too large, 503 not the leader (retry another server).
package handler
