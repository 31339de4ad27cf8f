#!/usr/bin/env bash
# promtool.sh provides promtool, Prometheus's rule checker and rule unit test
# runner, so `make test` checks and unit-tests config/prometheus/rules.yaml
# with the real Prometheus rule engine. hack/tools/promtool pins the release:
# Prometheus 3.5, the long-term-support line.
#
# Building Prometheus from the Go module proxy takes 8 minutes of a cold CI
# run on 2 cores, so the script first takes Debian's build of the same release
# (the promtool package, a 17 MB download pinned below by URL and SHA-256) and
# checks that it reports the pinned release. Only when that download fails
# (Debian moved the file, or the machine has no dpkg-deb) does it build from
# source, which gives the same release. Either way, like hack/s3server.sh, the
# binary lands in a cache outside the checkout keyed by version and by the
# go.sum the fallback builds from:
#   ${XDG_DATA_HOME:-~/.local/share}/parcel-operator/promtool/<version>/promtool
# A second run finds it and returns at once. The last line on stdout is the
# binary's path, ready for PROMTOOL.
set -euo pipefail

PROMETHEUS_VERSION="${PROMETHEUS_VERSION:-v0.305.3}"
# Debian's package of that release (unstable's pool; the stable release,
# trixie, carries 2.53).
DEBIAN_DEB="${DEBIAN_DEB:-http://deb.debian.org/debian/pool/main/p/prometheus/promtool_3.5.3+ds1-6_amd64.deb}"
DEBIAN_SHA256="${DEBIAN_SHA256:-1fb8bad7b932e7a44bccb12517f0bd96d5d5d83f15d3a1c0e2aa705cbf93fe90}"
PROMTOOL_CACHE="${XDG_DATA_HOME:-$HOME/.local/share}/parcel-operator/promtool"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
module=hack/tools/promtool
dest="${PROMTOOL_CACHE}/${PROMETHEUS_VERSION}"
bin="${dest}/promtool"
sum="$(sha256sum "${root}/${module}/go.sum" | cut -c1-12)"
stamp="${dest}/.built-${sum}"

if [[ -f "${stamp}" && -x "${bin}" ]]; then
	echo "${bin}"
	exit 0
fi

# The cache key must not lie: refuse to build when the tools module pins
# another version than the one asked for.
if ! grep -qE "^[[:space:]]*(require[[:space:]]+)?github\.com/prometheus/prometheus ${PROMETHEUS_VERSION//./\\.}( // indirect)?$" "${root}/${module}/go.mod"; then
	echo "promtool: ${module}/go.mod does not require github.com/prometheus/prometheus ${PROMETHEUS_VERSION}; update it and run go mod tidy there" >&2
	exit 1
fi

mkdir -p "${PROMTOOL_CACHE}"
# One builder at a time: a second `make test` in another shell waits here,
# then finds the binary the first one built.
exec 9>"${PROMTOOL_CACHE}/.lock"
flock 9
if [[ -f "${stamp}" && -x "${bin}" ]]; then
	echo "${bin}"
	exit 0
fi

work="$(mktemp -d "${PROMTOOL_CACHE}/.build.XXXXXX")"
trap 'rm -rf "${work}"' EXIT

# Prometheus 3 publishes release 3.Y.Z as module version v0.(300+Y).Z;
# promtool reports the release.
IFS=. read -r _ minor patch <<<"${PROMETHEUS_VERSION#v}"
release="3.$((minor - 300)).${patch}"

# Debian's build first: download, check the digest, unpack the one binary.
from_debian() {
	command -v dpkg-deb >/dev/null || return 1
	curl -fsSL --retry 3 -o "${work}/promtool.deb" "${DEBIAN_DEB}" || return 1
	echo "${DEBIAN_SHA256}  ${work}/promtool.deb" | sha256sum --check --quiet - || return 1
	dpkg-deb --fsys-tarfile "${work}/promtool.deb" | tar -xO ./usr/bin/promtool >"${work}/promtool" || return 1
	chmod +x "${work}/promtool"
}

# From source otherwise, with a progress line every 30 seconds, so a build
# (several minutes on 2 cores) never looks hung.
from_source() {
	local start=$SECONDS pid
	echo "promtool: building promtool ${PROMETHEUS_VERSION} (Prometheus ${release}; the build takes several minutes)" >&2
	CGO_ENABLED=0 go build -C "${root}/${module}" -trimpath \
		-ldflags "-s -w -X github.com/prometheus/common/version.Version=${release}" \
		-o "${work}/promtool" github.com/prometheus/prometheus/cmd/promtool &
	pid=$!
	while kill -0 "${pid}" 2>/dev/null; do
		sleep 2
		if (( (SECONDS - start) % 30 < 2 && SECONDS - start >= 30 )); then
			echo "promtool: still building promtool ($((SECONDS - start))s)" >&2
			sleep 2
		fi
	done
	wait "${pid}"
	echo "promtool: built promtool in $((SECONDS - start))s" >&2
}

if from_debian; then
	echo "promtool: took Debian's promtool ${release} from ${DEBIAN_DEB}" >&2
else
	echo "promtool: Debian's package of promtool ${release} is not available here; building it" >&2
	from_source
fi

# Debian's build reports the release with its packaging suffix (3.5.3+ds1).
got="$("${work}/promtool" --version 2>&1 | awk 'NR == 1 { sub(/\+.*/, "", $3); print $3 }')"
if [[ "${got}" != "${release}" ]]; then
	echo "promtool: promtool reports version '${got}', want '${release}'" >&2
	exit 1
fi

mkdir -p "${dest}"
rm -f "${dest}"/.built-*
mv -f "${work}/promtool" "${bin}"
touch "${stamp}"
echo "${bin}"
