// Package testimage builds phalanx/busybox:latest, the image Phalanx's
// Docker tests run, with no registry.
//
// The image is FROM scratch and holds the host's static busybox
// (/bin/busybox from Debian's busybox-static) with its applets installed
// as symlinks in /bin, an empty world-writable /tmp, PATH=/bin and CMD sh.
// images/busybox holds the same Dockerfile and a build.sh for humans.
//
// Ensure is idempotent and safe to call from many goroutines and from many
// test binaries at once: builds are serialised by a mutex within a process
// and an flock across processes, and a build that fails while another one
// tagged the image counts as success.
package testimage
