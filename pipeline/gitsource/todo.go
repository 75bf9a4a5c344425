package gitsource

import (
	"context"
	"errors"
)

var errTODO = errors.New("gitsource: not implemented yet")

func open(ctx context.Context, url string, auth Auth, commit string, opts []Option) (*Snapshot, error) {
	return nil, errTODO
}

func changedFiles(ctx context.Context, url string, auth Auth, before, after string, opts []Option) ([]string, error) {
	return nil, errTODO
}

func resolveRef(ctx context.Context, url string, auth Auth, ref string) (string, error) {
	return "", errTODO
}

func checkout(ctx context.Context, url string, auth Auth, commit, dir string, opts []Option) error {
	return errTODO
}
