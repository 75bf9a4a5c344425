package testimage

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/client"
)

// Name is the image's reference.
const Name = "phalanx/busybox:latest"

// BusyboxPath is the static busybox binary copied into the image.
const BusyboxPath = "/bin/busybox"

// Dockerfile is the image's recipe; images/busybox/Dockerfile holds the same
// text (a test keeps them equal).
const Dockerfile = `# phalanx/busybox:latest: the image Phalanx's tests run, built offline from
# Debian's static busybox (package busybox-static). Build it with build.sh.
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
RUN ["/bin/busybox", "mkdir", "-m", "1777", "/tmp"]
ENV PATH=/bin
CMD ["sh"]
`

var mu sync.Mutex

// Ensure makes sure the engine behind cli has the image Name, building it
// from BusyboxPath if it is missing. It never pulls.
func Ensure(ctx context.Context, cli *client.Client) error {
	if ok, err := present(ctx, cli); err != nil || ok {
		return err
	}
	mu.Lock()
	defer mu.Unlock()
	unlock, err := lockFile(filepath.Join(os.TempDir(), "phalanx-testimage.lock"))
	if err != nil {
		return err
	}
	defer unlock()
	// Another goroutine or process may have built it while we waited.
	if ok, err := present(ctx, cli); err != nil || ok {
		return err
	}
	buildErr := buildImage(ctx, cli, Name)
	if buildErr == nil {
		return nil
	}
	// A concurrent build from a process that did not take the lock (an
	// older test binary, build.sh) may have won a tag race; that is fine.
	if ok, _ := present(ctx, cli); ok {
		return nil
	}
	return buildErr
}

func present(ctx context.Context, cli *client.Client) (bool, error) {
	_, err := cli.ImageInspect(ctx, Name)
	switch {
	case err == nil:
		return true, nil
	case cerrdefs.IsNotFound(err):
		return false, nil
	default:
		return false, fmt.Errorf("testimage: inspect %s: %w", Name, err)
	}
}

func buildImage(ctx context.Context, cli *client.Client, name string) error {
	buildCtx, err := contextTar()
	if err != nil {
		return err
	}
	resp, err := cli.ImageBuild(ctx, buildCtx, build.ImageBuildOptions{
		Tags:        []string{name},
		Remove:      true,
		ForceRemove: true,
		Version:     build.BuilderV1,
		Labels:      map[string]string{"phalanx.test-image": "true"},
	})
	if err != nil {
		return fmt.Errorf("testimage: build %s: %w", name, err)
	}
	defer resp.Body.Close()
	if err := readBuildStream(resp.Body); err != nil {
		return fmt.Errorf("testimage: build %s: %w", name, err)
	}
	return nil
}

// readBuildStream drains the engine's JSON progress stream and returns the
// build's error, if it reports one.
func readBuildStream(r io.Reader) error {
	var tail bytes.Buffer
	dec := json.NewDecoder(r)
	for {
		var msg struct {
			Stream      string `json:"stream"`
			Error       string `json:"error"`
			ErrorDetail struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		if err := dec.Decode(&msg); err == io.EOF {
			return nil
		} else if err != nil {
			return fmt.Errorf("reading build output: %w", err)
		}
		if msg.Error != "" || msg.ErrorDetail.Message != "" {
			m := msg.ErrorDetail.Message
			if m == "" {
				m = msg.Error
			}
			return fmt.Errorf("%s (output: %s)", m, bytes.TrimSpace(tail.Bytes()))
		}
		tail.WriteString(msg.Stream)
		if tail.Len() > 4096 {
			tail.Next(tail.Len() - 4096)
		}
	}
}

// contextTar returns a build context holding the Dockerfile and busybox.
func contextTar() (io.Reader, error) {
	bin, err := os.ReadFile(BusyboxPath)
	if err != nil {
		return nil, fmt.Errorf("testimage: %w; install a static busybox (apt-get install busybox-static)", err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	files := []struct {
		name string
		mode int64
		body []byte
	}{
		{"Dockerfile", 0o644, []byte(Dockerfile)},
		{"busybox", 0o755, bin},
	}
	for _, f := range files {
		hdr := &tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.body)), ModTime: time.Unix(0, 0)}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.body); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return &buf, nil
}

// lockFile takes an exclusive flock on path, creating it, and returns the
// function that releases it.
func lockFile(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return nil, fmt.Errorf("testimage: lock: %w", err)
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("testimage: lock %s: %w", path, err)
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
