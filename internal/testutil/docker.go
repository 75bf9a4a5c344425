package testutil

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/docker/docker/client"

	"github.com/phalanx-sched/phalanx/internal/testimage"
)

// RequireDockerEnv is the environment variable that turns a missing Docker
// Engine from a skip into a failure when set to "1".
const RequireDockerEnv = "PHALANX_REQUIRE_DOCKER"

// Docker returns a client to a reachable Docker Engine that has
// testimage.Name, and closes it when the test ends. If the engine does not
// answer a ping within 5 s the test is skipped (or fails, when
// PHALANX_REQUIRE_DOCKER=1).
func Docker(t testing.TB) *client.Client {
	t.Helper()
	unavailable := t.Skipf
	if os.Getenv(RequireDockerEnv) == "1" {
		unavailable = t.Fatalf
	}
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		unavailable("docker: cannot make a client: %v", err)
		return nil
	}
	t.Cleanup(func() { cli.Close() })

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := cli.Ping(ctx); err != nil {
		unavailable("docker: engine did not answer a ping within 5s: %v", err)
		return nil
	}
	bctx, bcancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer bcancel()
	if err := testimage.Ensure(bctx, cli); err != nil {
		t.Fatalf("docker: %v", err)
	}
	return cli
}
