package handler

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// jobLogs streams one allocation's output from the agent that keeps it.
// ?alloc= picks the allocation (default: the job's first member of its
// latest attempt); ?follow=1 streams until the task ends, waiting for the
// job to be placed if need be.
func (h *handler) jobLogs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	follow := q.Get("follow") == "1" || q.Get("follow") == "true"
	h.streamLogs(w, r, r.PathValue("id"), q.Get("alloc"), follow)
}

// streamLogs streams the logs of a job's allocation (alloc, or by default
// its first member) from the agent that keeps them.
func (h *handler) streamLogs(w http.ResponseWriter, r *http.Request, jobID, allocID string, follow bool) {
	alloc, node, err := h.b.LogTarget(r.Context(), jobID, allocID, follow)
	if err != nil {
		writeError(w, err)
		return
	}
	u := url.URL{Scheme: "http", Host: node.Address, Path: "/v1/allocations/" + url.PathEscape(alloc.ID) + "/logs"}
	if follow {
		u.RawQuery = "follow=1"
	}
	req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, u.String(), nil)
	if err != nil {
		writeError(w, err)
		return
	}
	resp, err := h.cfg.LogClient.Do(req)
	if err != nil {
		writeError(w, &statusError{http.StatusBadGateway,
			fmt.Sprintf("logs of %s are on node %s (%s), which did not answer: %v", alloc.ID, node.Name, node.Address, err)})
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		writeError(w, &statusError{resp.StatusCode, fmt.Sprintf("node %s: %s", node.Name, b)})
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Phalanx-Alloc", alloc.ID)
	w.WriteHeader(http.StatusOK)
	copyFlushing(w, resp.Body)
}

// copyFlushing copies src to w, flushing after every read so a follower
// sees lines as they come.
func copyFlushing(w http.ResponseWriter, src io.Reader) {
	fl, _ := w.(http.Flusher)
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return
			}
			if fl != nil {
				fl.Flush()
			}
		}
		if err != nil {
			return
		}
	}
}
