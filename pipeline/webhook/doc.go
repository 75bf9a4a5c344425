// Package webhook checks and reads the push, tag and pull request
// notifications that GitHub, GitLab, Gitea and a plain git server's
// post-receive hook (the "generic" forge, see examples/hooks/post-receive)
// send, turning each into a Delivery: the repository to clone and the
// pipeline.Event to run.
//
// A handler reads the body with ReadBody (at most MaxBody bytes), checks
// the sender with Verify against the repository's secret, then calls
// Parse. Deliveries that start nothing (pings, branch and tag deletions,
// closed pull requests, event kinds Phalanx does not build) give an error
// wrapping ErrIgnored, which a handler answers with 2xx so that the forge
// does not retry. docs/webhooks.md is the reference for users.
//
// The package does no IO beyond reading the body it is handed.
package webhook
