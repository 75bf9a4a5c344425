package server

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/phalanx-sched/phalanx/api"
)

// Concurrent callers are merged into fewer writes, every caller's reports
// are written exactly once, and each caller gets its write's error.
func TestUpdateBatcherMergesConcurrentReports(t *testing.T) {
	var b updateBatcher
	var mu sync.Mutex
	seen := map[string]int{}
	var writes atomic.Int32
	release := make(chan struct{})
	apply := func(us []api.AllocUpdate) error {
		if writes.Add(1) == 1 {
			<-release // hold the first write so that others queue behind it
		}
		mu.Lock()
		defer mu.Unlock()
		for _, u := range us {
			seen[u.ID]++
		}
		for _, u := range us {
			if u.ID == "bad" {
				return errors.New("bad batch")
			}
		}
		return nil
	}
	var wg sync.WaitGroup
	errs := make([]error, 50)
	wg.Add(1)
	go func() { defer wg.Done(); errs[0] = b.do([]api.AllocUpdate{{ID: "u0"}}, apply) }()
	for writes.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	for i := 1; i < 50; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			errs[i] = b.do([]api.AllocUpdate{{ID: "u" + string(rune('0'+i%10)) + string(rune('a'+i/10))}}, apply)
		}(i)
	}
	time.Sleep(50 * time.Millisecond) // let them queue
	close(release)
	wg.Wait()
	if n := writes.Load(); n > 3 {
		t.Errorf("50 concurrent callers took %d writes; want them merged", n)
	}
	if len(seen) != 50 {
		t.Fatalf("%d distinct reports written, want 50", len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("report %s written %d times", id, n)
		}
	}
	for i, err := range errs {
		if err != nil {
			t.Errorf("caller %d: %v", i, err)
		}
	}
	// A failed write fails exactly the callers whose reports it held.
	if err := b.do([]api.AllocUpdate{{ID: "bad"}}, apply); err == nil {
		t.Fatal("a failed write reported success")
	}
	if err := b.do([]api.AllocUpdate{{ID: "fine"}}, apply); err != nil {
		t.Fatalf("the next write: %v", err)
	}
}

// A caller returns once its own entry is written, however many reports
// keep arriving behind it.
func TestUpdateBatcherCallerDoesNotWaitForOthers(t *testing.T) {
	var b updateBatcher
	gates := []chan struct{}{make(chan struct{}), make(chan struct{})}
	var n atomic.Int32
	apply := func([]api.AllocUpdate) error {
		if k := n.Add(1); int(k) <= len(gates) {
			<-gates[k-1]
		}
		return nil
	}
	first := make(chan error, 1)
	go func() { first <- b.do([]api.AllocUpdate{{ID: "a"}}, apply) }()
	for n.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	second := make(chan error, 1)
	go func() { second <- b.do([]api.AllocUpdate{{ID: "b"}}, apply) }()
	time.Sleep(20 * time.Millisecond) // b queues behind a's write
	close(gates[0])
	select {
	case err := <-first:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the first caller waited for the second caller's write")
	}
	close(gates[1])
	if err := <-second; err != nil {
		t.Fatal(err)
	}
}
