package webhook

import (
	"io"
	"net/http"
)

// ReadBody reads r to its end, or gives ErrTooLarge once more than MaxBody
// bytes arrive (a handler then answers 413).
func ReadBody(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxBody+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxBody {
		return nil, ErrTooLarge
	}
	return b, nil
}

func verify(forge string, h http.Header, body []byte, secret []byte) error {
	return ErrUnauthorized
}

func parse(forge string, h http.Header, body []byte) (Delivery, error) {
	return Delivery{}, ErrUnknownForge
}
