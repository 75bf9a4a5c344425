package testimage_test

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/phalanx-sched/phalanx/internal/testimage"
	"github.com/phalanx-sched/phalanx/internal/testutil"
)

func TestDockerfileMatchesImagesDir(t *testing.T) {
	b, err := os.ReadFile("../../images/busybox/Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(testimage.Dockerfile, string(b)); diff != "" {
		t.Errorf("images/busybox/Dockerfile differs from testimage.Dockerfile (-const +file):\n%s", diff)
	}
}

func TestEnsureConcurrent(t *testing.T) {
	cli := testutil.Docker(t) // ensures once
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = testimage.Ensure(ctx, cli)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Ensure #%d: %v", i, err)
		}
	}
	img, err := cli.ImageInspect(ctx, testimage.Name)
	if err != nil {
		t.Fatal(err)
	}
	if got := img.Config.Cmd; len(got) != 1 || got[0] != "sh" {
		t.Errorf("image CMD = %q, want [sh]", got)
	}
}
