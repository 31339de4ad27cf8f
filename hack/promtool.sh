#!/usr/bin/env bash
# promtool.sh builds promtool, Prometheus's rule checker and rule unit test
# runner, from the Go module proxy (hack/tools/promtool pins the version), so
# `make test` checks and unit-tests config/prometheus/rules.yaml with the real
# Prometheus rule engine. Building Prometheus takes minutes, so, like
# hack/s3server.sh, the binary lands in a cache outside the checkout keyed by
# version and by the go.sum it was built from:
#   ${XDG_DATA_HOME:-~/.local/share}/parcel-operator/promtool/<version>/promtool
# A second run finds it and returns at once. The last line on stdout is the
# binary's path, ready for PROMTOOL.
set -euo pipefail

PROMETHEUS_VERSION="${PROMETHEUS_VERSION:-v0.316.0}"
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

# Build with a progress line every 30 seconds, so a first build (several
# minutes on 2 cores) never looks hung.
start=$SECONDS
echo "promtool: building promtool ${PROMETHEUS_VERSION} (Prometheus ${release}; the first build takes several minutes)" >&2
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

got="$("${work}/promtool" --version 2>&1 | awk 'NR == 1 { print $3 }')"
if [[ "${got}" != "${release}" ]]; then
	echo "promtool: promtool reports version '${got}', want '${release}'" >&2
	exit 1
fi

mkdir -p "${dest}"
rm -f "${dest}"/.built-*
mv -f "${work}/promtool" "${bin}"
touch "${stamp}"
echo "${bin}"
