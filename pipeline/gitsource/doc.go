// Package gitsource reads repositories the way a CI server needs to: one
// commit at a time, shallow, with a token that is never written down.
//
// Open fetches exactly one commit (depth 1) into memory so the server can
// read .phalanx.yml and its includes at the pushed commit. ChangedFiles diffs
// two commits for events that do not list their files. ResolveRef turns a
// branch, tag or hash into a commit hash. Checkout writes one commit, shallow,
// into a directory with a .git, for a step's workspace.
//
// URLs are file:// URLs, plain paths, or http(s):// URLs. A token (Auth) is
// sent as HTTP basic auth and is never stored in the repository written by
// Checkout, and never appears in a returned error: errors are redacted, and a
// password embedded in the URL is moved into Auth before anything else
// happens.
//
// Fetching one commit: git servers that speak protocol v0/v1 (go-git speaks
// no other) refuse a "want" for a hash that is not the tip of a ref, unless
// uploadpack.allowReachableSHA1InWant (or allowAnySHA1InWant) is set; GitHub,
// GitLab and Gitea allow it. So each fetch first looks for a ref that points
// at the commit (preferring the WithRef hint) and fetches that ref with depth
// 1; otherwise it asks for the hash itself with depth 1; if the server refuses
// and a ref hint was given, it fetches that ref's whole history and looks for
// the commit there. Errors say which of these were tried.
package gitsource
