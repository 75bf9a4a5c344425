package main

import (
	"log"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
)

// PHALANX_PPROF_ADDR, when set, serves Go's profiling endpoints
// (/debug/pprof/...) on that address for any phalanx process: a way to see
// where a server or agent spends its time under load. It is off by
// default and never on the API's address, so it cannot be reached by
// accident.
func init() {
	addr := os.Getenv("PHALANX_PPROF_ADDR")
	if addr == "" {
		return
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		log.Printf("PHALANX_PPROF_ADDR: %v (profiling disabled)", err)
		return
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	log.Printf("profiling endpoints on http://%s/debug/pprof/", ln.Addr())
	go http.Serve(ln, mux)
}
