#!/usr/bin/env bash
# Builds phalanx/busybox:latest, the image Phalanx's tests run, with no
# registry: a FROM scratch image holding the host's static busybox.
set -euo pipefail

busybox=/bin/busybox
tag=phalanx/busybox:latest
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

if [[ ! -x "$busybox" ]]; then
	echo "build.sh: $busybox is missing; install a static busybox first (apt-get install busybox-static)" >&2
	exit 1
fi
if command -v file >/dev/null && ! file -L "$busybox" | grep -q 'statically linked'; then
	echo "build.sh: $busybox is not statically linked; install busybox-static (apt-get install busybox-static)" >&2
	exit 1
fi

ctx="$(mktemp -d)"
trap 'rm -rf "$ctx"' EXIT
cp "$busybox" "$ctx/busybox"
cp "$here/Dockerfile" "$ctx/Dockerfile"
docker build -t "$tag" "$ctx"
