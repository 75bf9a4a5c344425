package client

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/phalanx-sched/phalanx/api"
)

// A server that answers with status, or drops the connection when status
// is 0, counting the requests it saw.
func server(t *testing.T, status int) (*httptest.Server, *atomic.Int32) {
	var n atomic.Int32
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		if status == 0 {
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close() // the request arrived; the answer never does
			return
		}
		w.WriteHeader(status)
		w.Write([]byte(`{"id": "j1"}`))
	}))
	t.Cleanup(s.Close)
	return s, &n
}

func closedAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestRetryOnlyWhatIsSafe(t *testing.T) {
	tests := []struct {
		name      string
		first     int // status of the first server; 0 drops the connection; -1 refuses it
		key       string
		wantRetry bool
	}{
		{"refused connection: nothing sent", -1, "", true},
		{"503 not the leader: nothing applied", http.StatusServiceUnavailable, "", true},
		{"dropped after sending, no key: may be applied", 0, "", false},
		{"dropped after sending, with key", 0, "k1", true},
		{"504 outcome unknown, no key", http.StatusGatewayTimeout, "", false},
		{"504 outcome unknown, with key", http.StatusGatewayTimeout, "k1", true},
		{"502 forward failed, no key", http.StatusBadGateway, "", false},
		{"400 is final", http.StatusBadRequest, "k1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			second, secondN := server(t, http.StatusCreated)
			first := closedAddr(t)
			if tt.first >= 0 {
				s, _ := server(t, tt.first)
				first = s.URL
			}
			c := New(first + "," + second.URL)
			c.Rounds = 1
			_, err := c.SubmitJob(context.Background(), "j.yaml", []byte("x"), tt.key)
			if got := secondN.Load() == 1; got != tt.wantRetry {
				t.Fatalf("retried on the next server: %v, want %v (err %v)", got, tt.wantRetry, err)
			}
			if tt.wantRetry && err != nil {
				t.Fatalf("retry failed: %v", err)
			}
			if !tt.wantRetry && err == nil {
				t.Fatal("no error reported")
			}
		})
	}
}

func TestStatusMapsToSentinels(t *testing.T) {
	for status, want := range map[int]error{
		400: api.ErrInvalid, 404: api.ErrNotFound, 409: api.ErrConflict, 503: api.ErrNotLeader, 504: api.ErrUnknownOutcome,
	} {
		s, _ := server(t, status)
		c := New(s.URL)
		c.Rounds = 1
		_, err := c.Job(context.Background(), "x")
		if !errors.Is(err, want) {
			t.Errorf("%d: %v, want %v", status, err, want)
		}
	}
	if c := New(" a:1 , http://b:2/ "); strings.Join(c.bases, " ") != "http://a:1 http://b:2" {
		t.Errorf("addresses %v", c.bases)
	}
}

// A client follows the leader a server names, and does not follow it to
// a server it could not reach a moment ago.
func TestClientGoesToTheLeaderItCanReach(t *testing.T) {
	var leaderHits, followerHits atomic.Int32
	leader := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		leaderHits.Add(1)
		w.Write([]byte(`{}`))
	}))
	defer leader.Close()
	leaderAddr := strings.TrimPrefix(leader.URL, "http://")
	var named atomic.Pointer[string] // the leader the follower names
	named.Store(&leaderAddr)
	follower := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		followerHits.Add(1)
		w.Header().Set(api.LeaderHeader, *named.Load())
		w.Write([]byte(`{}`))
	}))
	defer follower.Close()
	followerAddr := strings.TrimPrefix(follower.URL, "http://")

	c := New(followerAddr + "," + leaderAddr)
	for range 3 {
		if _, err := c.Leader(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if followerHits.Load() != 1 || leaderHits.Load() != 2 {
		t.Fatalf("follower answered %d, leader %d: want the client on the leader after the first answer", followerHits.Load(), leaderHits.Load())
	}

	// The leader is out of reach (one side of a partition) while the
	// follower still names it: the client stays with the follower.
	gone := closedAddr(t)
	c = New(gone + "," + followerAddr)
	named.Store(&gone)
	followerHits.Store(0)
	for range 3 {
		if _, err := c.Leader(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if c.Addr() != follower.URL || followerHits.Load() != 3 {
		t.Fatalf("client on %s after %d follower answers; want it to stay on the follower", c.Addr(), followerHits.Load())
	}
}
