package executor

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/phalanx-sched/phalanx/api"
	"github.com/phalanx-sched/phalanx/internal/fakeclock"
)

// TestCheckoutGivesUpOnAServerThatNeverAnswers: a git server that takes
// the connection and then says nothing must not hold a step in "starting"
// for ever; the checkout ends after the workspaces' timeout with an error
// saying so, and without the token.
func TestCheckoutGivesUpOnAServerThatNeverAnswers(t *testing.T) {
	release := make(chan struct{})
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(hs.Close)
	t.Cleanup(func() { close(release) })

	s, err := newWorkspaces(filepath.Join(t.TempDir(), "ws"), GitCheckout, 10*time.Minute, fakeclock.New(t0).Now)
	if err != nil {
		t.Fatal(err)
	}
	s.timeout = 300 * time.Millisecond
	ws := &api.Workspace{ID: "run-1", Checkout: &api.Checkout{URL: hs.URL + "/repo", Commit: strings.Repeat("a", 40), Token: "tok-s3cret-123"}}
	done := make(chan error, 1)
	go func() {
		_, err := s.acquire(context.Background(), "a1", ws)
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "no answer within 300ms") || strings.Contains(err.Error(), "tok-s3cret-123") {
			t.Fatalf("acquire: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the checkout still waits on a silent git server after 20s")
	}
}
