// Package testutil holds helpers shared by Phalanx's tests.
//
// Docker returns a client to the local Docker Engine with the test image
// (testimage.Name) present. When no engine answers, the test is skipped,
// unless PHALANX_REQUIRE_DOCKER=1, in which case it fails: CI sets that so
// a broken engine cannot turn the Docker tests into silent skips.
package testutil
