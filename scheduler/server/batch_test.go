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
func TestGroupCommitMergesConcurrentReports(t *testing.T) {
	var b groupCommit[api.AllocUpdate, struct{}]
	var mu sync.Mutex
	seen := map[string]int{}
	var writes atomic.Int32
	release := make(chan struct{})
	apply := func(us []api.AllocUpdate) ([]struct{}, error) {
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
				return nil, errors.New("bad batch")
			}
		}
		return nil, nil
	}
	var wg sync.WaitGroup
	errs := make([]error, 50)
	wg.Add(1)
	go func() { defer wg.Done(); _, errs[0] = b.do([]api.AllocUpdate{{ID: "u0"}}, apply) }()
	for writes.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	for i := 1; i < 50; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, errs[i] = b.do([]api.AllocUpdate{{ID: "u" + string(rune('0'+i%10)) + string(rune('a'+i/10))}}, apply)
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
	if _, err := b.do([]api.AllocUpdate{{ID: "bad"}}, apply); err == nil {
		t.Fatal("a failed write reported success")
	}
	if _, err := b.do([]api.AllocUpdate{{ID: "fine"}}, apply); err != nil {
		t.Fatalf("the next write: %v", err)
	}
}

// A caller returns once its own entry is written, however many reports
// keep arriving behind it.
func TestGroupCommitCallerDoesNotWaitForOthers(t *testing.T) {
	var b groupCommit[api.AllocUpdate, struct{}]
	gates := []chan struct{}{make(chan struct{}), make(chan struct{})}
	var n atomic.Int32
	apply := func([]api.AllocUpdate) ([]struct{}, error) {
		if k := n.Add(1); int(k) <= len(gates) {
			<-gates[k-1]
		}
		return nil, nil
	}
	first := make(chan error, 1)
	go func() { _, err := b.do([]api.AllocUpdate{{ID: "a"}}, apply); first <- err }()
	for n.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	second := make(chan error, 1)
	go func() { _, err := b.do([]api.AllocUpdate{{ID: "b"}}, apply); second <- err }()
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

// Each caller gets the results of its own items, in order, however the
// batch was made up.
func TestGroupCommitHandsEachCallerItsResults(t *testing.T) {
	var g groupCommit[int, int]
	release := make(chan struct{})
	var writes atomic.Int32
	double := func(xs []int) ([]int, error) {
		if writes.Add(1) == 1 {
			<-release
		}
		out := make([]int, len(xs))
		for i, x := range xs {
			out[i] = 2 * x
		}
		return out, nil
	}
	first := make(chan []int, 1)
	go func() { r, _ := g.do([]int{1}, double); first <- r }()
	for writes.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	var wg sync.WaitGroup
	got := make([][]int, 20)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], _ = g.do([]int{100 * i, 100*i + 1, 100*i + 2}, double)
		}()
	}
	time.Sleep(50 * time.Millisecond)
	close(release)
	wg.Wait()
	if r := <-first; len(r) != 1 || r[0] != 2 {
		t.Fatalf("first caller got %v", r)
	}
	for i, r := range got {
		if len(r) != 3 || r[0] != 200*i || r[1] != 200*i+2 || r[2] != 200*i+4 {
			t.Fatalf("caller %d got %v", i, r)
		}
	}
	if n := writes.Load(); n > 3 {
		t.Errorf("21 callers took %d writes", n)
	}
}

// An entry holds at most maxBatch items; a caller's items are never split.
func TestGroupCommitCapsAnEntry(t *testing.T) {
	var g groupCommit[int, int]
	release := make(chan struct{})
	var mu sync.Mutex
	var sizes []int
	write := func(xs []int) ([]int, error) {
		mu.Lock()
		first := len(sizes) == 0
		sizes = append(sizes, len(xs))
		mu.Unlock()
		if first {
			<-release
		}
		return xs, nil
	}
	go g.do([]int{0}, write)
	for {
		mu.Lock()
		started := len(sizes) > 0
		mu.Unlock()
		if started {
			break
		}
		time.Sleep(time.Millisecond)
	}
	var wg sync.WaitGroup
	for i := range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			items := make([]int, 500)
			for k := range items {
				items[k] = i*1000 + k
			}
			got, err := g.do(items, write)
			if err != nil || len(got) != 500 || got[0] != i*1000 || got[499] != i*1000+499 {
				t.Errorf("caller %d got %d results (%v)", i, len(got), err)
			}
		}()
	}
	time.Sleep(50 * time.Millisecond)
	close(release)
	wg.Wait()
	total := 0
	for _, n := range sizes[1:] {
		if n > maxBatch || n%500 != 0 {
			t.Errorf("an entry of %d items", n)
		}
		total += n
	}
	if total != 15000 {
		t.Fatalf("%d items written, want 15000 (%v)", total, sizes)
	}
}
