package handler

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"

	"github.com/phalanx-sched/phalanx/api"
)

// ForwardedHeader marks a request a follower forwarded to the leader; a
// server that gets one and is not the leader answers 503 instead of
// forwarding again.
const ForwardedHeader = "X-Phalanx-Forwarded"

// maxSnapshotBytes caps a snapshot upload.
const maxSnapshotBytes = 4 << 30

// local are the routes every server answers itself.
var local = map[string]bool{
	"/v1/status/leader":      true,
	"/v1/operator/raft/self": true,
	"/metrics":               true,
}

// forwardTransport carries forwarded requests to the leader. It keeps as
// many idle connections as requests come in at once (executors' blocking
// queries, reports): with net/http's default of two, a busy follower
// spends more time dialing the leader than forwarding.
var forwardTransport = func() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns, t.MaxIdleConnsPerHost = 0, 1<<16
	return t
}()

// forward sends requests to the leader when this server is not it: every
// write, and reads unless the client asks for ?stale=1 (this server's
// possibly older state, served at once).
func (h *handler) forward(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		leader := h.b.LeaderHTTP()
		if leader != "" {
			w.Header().Set(api.LeaderHeader, leader)
		}
		stale := r.URL.Query().Get("stale")
		if local[r.URL.Path] || h.b.IsLeader() || (r.Method == http.MethodGet && (stale == "1" || stale == "true")) {
			next.ServeHTTP(w, r)
			return
		}
		if r.Header.Get(ForwardedHeader) != "" || leader == "" {
			writeError(w, fmt.Errorf("this server is not the leader and knows no leader to forward to; retry: %w", api.ErrNotLeader))
			return
		}
		target := &url.URL{Scheme: "http", Host: leader}
		proxy := &httputil.ReverseProxy{
			Transport: forwardTransport,
			Rewrite: func(pr *httputil.ProxyRequest) {
				pr.SetURL(target)
				pr.Out.Host = leader
				pr.Out.Header.Set(ForwardedHeader, h.b.Self().ID)
			},
			FlushInterval: -1, // stream followed logs and blocking queries as they come
			ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
				var op *net.OpError
				if errors.As(err, &op) && op.Op == "dial" {
					// Never reached the leader: nothing was applied.
					writeError(w, fmt.Errorf("forward to the leader at %s: %v: %w", leader, err, api.ErrNotLeader))
					return
				}
				// The leader may have applied it before failing.
				writeError(w, &statusError{http.StatusBadGateway,
					fmt.Sprintf("forward to the leader at %s failed mid-request (%v): the outcome is unknown", leader, err)})
			},
		}
		proxy.ServeHTTP(w, r)
	})
}

func (h *handler) operatorRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /v1/operator/raft/self", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, h.b.Self())
	})
	mux.HandleFunc("GET /v1/operator/raft/peers", func(w http.ResponseWriter, r *http.Request) {
		peers, err := h.b.Peers()
		if err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, peers)
	})
	mux.HandleFunc("POST /v1/operator/raft/peers", func(w http.ResponseWriter, r *http.Request) {
		var sv api.Server
		if err := h.decode(w, r, &sv); err != nil {
			writeError(w, err)
			return
		}
		if err := h.b.AddServer(r.Context(), sv); err != nil {
			writeError(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("DELETE /v1/operator/raft/peers/{id}", func(w http.ResponseWriter, r *http.Request) {
		if err := h.b.RemoveServer(r.Context(), r.PathValue("id")); err != nil {
			writeError(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /v1/operator/raft/transfer-leadership", func(w http.ResponseWriter, r *http.Request) {
		if err := h.b.TransferLeadership(r.Context(), r.URL.Query().Get("to")); err != nil {
			writeError(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /v1/operator/snapshot", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		if err := h.b.SaveSnapshot(w); err != nil {
			writeError(w, err) // only useful if nothing was written yet
		}
	})
	mux.HandleFunc("PUT /v1/operator/snapshot", func(w http.ResponseWriter, r *http.Request) {
		body := http.MaxBytesReader(w, r.Body, maxSnapshotBytes)
		if err := h.b.RestoreSnapshot(body); err != nil {
			writeError(w, err)
			return
		}
		_, _ = io.Copy(io.Discard, body)
		w.WriteHeader(http.StatusNoContent)
	})
}
