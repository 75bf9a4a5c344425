// Package runtimetest is the conformance suite for executor.Runtime
// implementations, in the manner of testing/fstest: every runtime, real or
// fake, passes Run.
//
// Run needs a runtime whose tasks have a POSIX sh with trap, sleep and echo
// (the host's /bin/sh, or an image such as phalanx/busybox). Its tasks are
// commands like ["sh", "-c", "..."]. It removes every task it starts.
package runtimetest
