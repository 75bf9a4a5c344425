package webhook

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// secret is the webhook secret the tests sign deliveries with.
var secret = []byte("It's a Secret to Everybody")

// recorded is one delivery under testdata/FORGE/NAME.delivery: a request
// line, the headers the forge sends, a blank line and the body.
type recorded struct {
	forge, name string
	header      http.Header
	body        []byte
}

func loadAll(t testing.TB) []recorded {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "*", "*.delivery"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	var all []recorded
	for _, f := range files {
		all = append(all, load(t, f))
	}
	return all
}

func load(t testing.TB, file string) recorded {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	r := textproto.NewReader(bufio.NewReader(bytes.NewReader(data)))
	if _, err := r.ReadLine(); err != nil { // POST /v1/hooks/FORGE
		t.Fatalf("%s: %v", file, err)
	}
	h, err := r.ReadMIMEHeader()
	if err != nil {
		t.Fatalf("%s: headers: %v", file, err)
	}
	body, err := io.ReadAll(r.R)
	if err != nil {
		t.Fatal(err)
	}
	return recorded{
		forge:  filepath.Base(filepath.Dir(file)),
		name:   strings.TrimSuffix(filepath.Base(file), ".delivery"),
		header: http.Header(h),
		body:   body,
	}
}

// signed returns a copy of h carrying what forge sends to prove it holds
// key.
func signed(forge string, h http.Header, body, key []byte) http.Header {
	h = h.Clone()
	mac := hmac.New(sha256.New, key)
	mac.Write(body)
	sum := hex.EncodeToString(mac.Sum(nil))
	switch forge {
	case GitHub:
		h.Set("X-Hub-Signature-256", "sha256="+sum)
	case Gitea:
		h.Set("X-Gitea-Signature", sum)
		h.Set("X-Hub-Signature-256", "sha256="+sum)
	case GitLab:
		h.Set("X-Gitlab-Token", string(key))
	case Generic:
		h.Set("X-Phalanx-Token", string(key))
	}
	return h
}
