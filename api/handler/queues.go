package handler

import (
	"context"
	"fmt"
	"net/http"

	"github.com/phalanx-sched/phalanx/api"
	"github.com/phalanx-sched/phalanx/api/queuespec"
)

// QueueBackend is the queue half of Backend.
type QueueBackend interface {
	Queues() []*api.QueueStatus
	// PutQueues creates or replaces the given queues; others stay.
	PutQueues(ctx context.Context, qs []api.Queue) ([]*api.QueueStatus, error)
	DeleteQueue(ctx context.Context, name string) error
}

func (h *handler) queueRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /v1/queues", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, h.b.Queues())
	})
	// PUT takes a queue file (YAML, as `phalanx queue apply` reads it), so
	// its errors name the file, line and field.
	mux.HandleFunc("PUT /v1/queues", func(w http.ResponseWriter, r *http.Request) {
		body, err := h.body(w, r)
		if err != nil {
			writeError(w, err)
			return
		}
		qs, err := queuespec.Parse(filename(r), body)
		if err != nil {
			writeError(w, fmt.Errorf("%w: %w", api.ErrInvalid, err))
			return
		}
		out, err := h.b.PutQueues(r.Context(), qs)
		if err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, out)
	})
	mux.HandleFunc("DELETE /v1/queues/{name}", func(w http.ResponseWriter, r *http.Request) {
		if err := h.b.DeleteQueue(r.Context(), r.PathValue("name")); err != nil {
			writeError(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}
