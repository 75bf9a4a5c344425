package testimage_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/image"

	"github.com/phalanx-sched/phalanx/internal/testimage"
	"github.com/phalanx-sched/phalanx/internal/testutil"
)

// TestConcurrentBuildsOfOneTag checks that builds racing to tag the same
// name all succeed, which Ensure relies on when two processes miss the lock.
func TestConcurrentBuildsOfOneTag(t *testing.T) {
	cli := testutil.Docker(t)
	name := fmt.Sprintf("phalanx/busybox-race-test:%d", os.Getpid())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	t.Cleanup(func() {
		cli.ImageRemove(context.Background(), name, image.RemoveOptions{Force: true})
	})
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = testimage.BuildImage(ctx, cli, name)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("build #%d: %v", i, err)
		}
	}
	if _, err := cli.ImageInspect(ctx, name); err != nil {
		t.Errorf("after the builds: %v", err)
	}
}
