package executor

import (
	"context"

	"github.com/phalanx-sched/phalanx/api"
	"github.com/phalanx-sched/phalanx/pipeline/gitsource"
)

// GitCheckout is the CheckoutFunc agents use by default: a shallow
// checkout of exactly co.Commit (pipeline/gitsource), asking for co.Ref
// first when it is set. The token is sent as HTTP basic auth and written
// nowhere under dir.
func GitCheckout(ctx context.Context, co api.Checkout, dir string) error {
	var opts []gitsource.Option
	if co.Ref != "" {
		opts = append(opts, gitsource.WithRef(co.Ref))
	}
	return gitsource.Checkout(ctx, co.URL, gitsource.Auth{Token: co.Token}, co.Commit, dir, opts...)
}
