package logs_test

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"
)

// gatedWriter blocks its first Write until released, to make a follower
// fall behind on purpose.
type gatedWriter struct {
	entered chan struct{}
	release chan struct{}
	once    sync.Once
	buf     syncBuffer
}

func newGatedWriter() *gatedWriter {
	return &gatedWriter{entered: make(chan struct{}), release: make(chan struct{})}
}

func (g *gatedWriter) Write(p []byte) (int, error) {
	g.once.Do(func() {
		close(g.entered)
		<-g.release
	})
	return g.buf.Write(p)
}

func TestSlowFollowerAcrossRotations(t *testing.T) {
	for _, tc := range []struct {
		name      string
		rotations int // while the follower is blocked
		wantExact bool
	}{
		{"one rotation", 1, true},
		{"two rotations", 2, true},
		{"four rotations", 4, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t, t.TempDir(), 100) // rotates every 50 bytes
			w := open(t, s, "slow")
			var all bytes.Buffer
			put := func(str string) {
				all.WriteString(str)
				write(t, w, str)
			}
			put(strings.Repeat("a", 10))

			g := newGatedWriter()
			done := make(chan error, 1)
			go func() { done <- s.Follow(context.Background(), "slow", g) }()
			<-g.entered

			put(strings.Repeat("b", 40))  // fills the first file
			for i := range tc.rotations { // each write starts a new file
				put(strings.Repeat(string(rune('c'+i)), 50))
			}
			close(g.release)
			w.Close()
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Follow did not return")
			}
			got := g.buf.String()
			if tc.wantExact {
				if got != all.String() {
					t.Errorf("follower got\n%q\nwant\n%q", got, all.String())
				}
				return
			}
			if !strings.Contains(got, "[phalanx: output dropped while following, log capped at 100 bytes]") {
				t.Errorf("follower that fell behind got no notice:\n%q", got)
			}
			if !strings.HasSuffix(got, strings.Repeat(string(rune('c'+tc.rotations-1)), 50)) {
				t.Errorf("follower lost the newest output:\n%q", got)
			}
		})
	}
}
