package gitsource

import (
	"strings"
	"testing"
)

// FuzzNewRemote checks the URL handling every call starts with: whatever
// URL and token a user gives, the URL kept (which errors show and
// Checkout records) holds no password, and no error shows the token.
func FuzzNewRemote(f *testing.F) {
	for _, u := range []string{
		"https://github.com/acme/trainer.git",
		"https://x-access-token:" + token + "@github.com/acme/trainer.git",
		"http://" + token + "@127.0.0.1:8080/r.git",
		"file:///srv/git/trainer.git",
		"/srv/git/trainer.git",
		"relative/repo",
		"ssh://git@example.com/r.git",
		"https://[::1]:namedport/r.git",
		"http://%zz@host/r",
	} {
		f.Add(u, token)
	}
	f.Fuzz(func(t *testing.T, rawURL, tok string) {
		r, err := newRemote(rawURL, Auth{Token: tok})
		if err != nil {
			if len(tok) >= 4 && strings.Contains(err.Error(), tok) {
				t.Fatalf("error shows the token: %v", err)
			}
			return
		}
		if strings.HasPrefix(r.url, "http") {
			// Once user information is gone, no "@" is left before
			// the path.
			host := strings.SplitN(strings.SplitN(r.url, "://", 2)[1], "/", 2)[0]
			if strings.Contains(host, "@") {
				t.Fatalf("kept URL %q has user information", r.url)
			}
		}
	})
}
