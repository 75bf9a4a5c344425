package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
)

func verify(forge string, h http.Header, body []byte, secret []byte) error {
	switch forge {
	case GitHub, GitLab, Gitea, Generic:
	default:
		return unknownForge(forge)
	}
	if len(secret) == 0 {
		return ErrNoSecret
	}
	switch forge {
	case GitHub:
		return checkHMAC(forge, h, "X-Hub-Signature-256", "sha256=", body, secret)
	case Gitea:
		// Gitea signs with X-Gitea-Signature; Forgejo and Gogs send
		// the same value under their own names, and Gitea also sends
		// GitHub's header.
		for _, name := range []string{"X-Gitea-Signature", "X-Forgejo-Signature", "X-Gogs-Signature"} {
			if h.Get(name) != "" {
				return checkHMAC(forge, h, name, "", body, secret)
			}
		}
		if h.Get("X-Hub-Signature-256") != "" {
			return checkHMAC(forge, h, "X-Hub-Signature-256", "sha256=", body, secret)
		}
		return fmt.Errorf("%w: gitea: no X-Gitea-Signature header (is the webhook's secret set?)", ErrUnauthorized)
	case GitLab:
		return checkToken(forge, "X-Gitlab-Token", h.Get("X-Gitlab-Token"), secret)
	default: // Generic
		if auth := h.Get("Authorization"); auth != "" {
			scheme, tok, ok := strings.Cut(auth, " ")
			if !ok || !strings.EqualFold(scheme, "Bearer") {
				return fmt.Errorf("%w: generic: the Authorization header is not \"Bearer <token>\"", ErrUnauthorized)
			}
			return checkToken(forge, "Authorization", strings.TrimSpace(tok), secret)
		}
		return checkToken(forge, "X-Phalanx-Token", h.Get("X-Phalanx-Token"), secret)
	}
}

// checkHMAC checks that header holds prefix and the hex HMAC-SHA256 of
// body keyed with secret.
func checkHMAC(forge string, h http.Header, header, prefix string, body, secret []byte) error {
	got := h.Get(header)
	if got == "" {
		return fmt.Errorf("%w: %s: no %s header (is the webhook's secret set?)", ErrUnauthorized, forge, header)
	}
	hexSig, ok := strings.CutPrefix(got, prefix)
	if !ok {
		return fmt.Errorf("%w: %s: %s does not start with %q", ErrUnauthorized, forge, header, prefix)
	}
	sig, err := hex.DecodeString(hexSig)
	if err != nil {
		return fmt.Errorf("%w: %s: %s is not hexadecimal", ErrUnauthorized, forge, header)
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	if !hmac.Equal(sig, mac.Sum(nil)) {
		return fmt.Errorf("%w: %s: %s does not match the body signed with this repository's secret", ErrUnauthorized, forge, header)
	}
	return nil
}

// checkToken compares a shared token with secret in constant time.
func checkToken(forge, header, got string, secret []byte) error {
	if got == "" {
		return fmt.Errorf("%w: %s: no %s header", ErrUnauthorized, forge, header)
	}
	if subtle.ConstantTimeCompare([]byte(got), secret) != 1 {
		return fmt.Errorf("%w: %s: the token in %s is not this repository's secret", ErrUnauthorized, forge, header)
	}
	return nil
}
