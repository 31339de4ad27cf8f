#!/usr/bin/env bash
# s3server.sh builds versitygw, the S3-compatible server the tests store proof
# of delivery files in, from the Go module proxy (hack/tools/versitygw pins
# the version), so `make test` talks to a real S3 API without Docker or a
# download from the internet.
#
# The binary lands in a cache outside the checkout, keyed by version:
#   ${XDG_DATA_HOME:-~/.local/share}/parcel-operator/versitygw/v<version>/versitygw
# A second run finds it and returns at once. The last line on stdout is the
# binary's path, ready for VERSITYGW.
set -euo pipefail

VERSITYGW_VERSION="${VERSITYGW_VERSION:-1.8.0}"
VERSITYGW_CACHE="${XDG_DATA_HOME:-$HOME/.local/share}/parcel-operator/versitygw"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
module=hack/tools/versitygw
dest="${VERSITYGW_CACHE}/v${VERSITYGW_VERSION}"
bin="${dest}/versitygw"
# The stamp names the go.sum it was built from as well as the version, so a
# changed pin can never reuse a binary built from other sources.
sum="$(sha256sum "${root}/${module}/go.sum" | cut -c1-12)"
stamp="${dest}/.built-${sum}"

if [[ -f "${stamp}" && -x "${bin}" ]]; then
	echo "${bin}"
	exit 0
fi

# The cache key must not lie: refuse to build when the tools module pins
# another version than the one asked for.
if ! grep -qE "^[[:space:]]*(require[[:space:]]+)?github\.com/versity/versitygw v${VERSITYGW_VERSION//./\\.}( // indirect)?$" "${root}/${module}/go.mod"; then
	echo "s3server: ${module}/go.mod does not require github.com/versity/versitygw v${VERSITYGW_VERSION}; update it and run go mod tidy there" >&2
	exit 1
fi

mkdir -p "${VERSITYGW_CACHE}"
# One builder at a time: a second `make test` in another shell waits here,
# then finds the binary the first one built.
exec 9>"${VERSITYGW_CACHE}/.lock"
flock 9
if [[ -f "${stamp}" && -x "${bin}" ]]; then
	echo "${bin}"
	exit 0
fi

work="$(mktemp -d "${VERSITYGW_CACHE}/.build.XXXXXX")"
trap 'rm -rf "${work}"' EXIT

# Build with a progress line every 30 seconds, so a first build (a minute or
# two on 2 cores) never looks hung.
start=$SECONDS
echo "s3server: building versitygw v${VERSITYGW_VERSION} (first build takes a minute or two)" >&2
CGO_ENABLED=0 go build -C "${root}/${module}" -trimpath \
	-ldflags "-s -w -X main.Version=v${VERSITYGW_VERSION}" \
	-o "${work}/versitygw" github.com/versity/versitygw/cmd/versitygw &
pid=$!
while kill -0 "${pid}" 2>/dev/null; do
	sleep 2
	if (( (SECONDS - start) % 30 < 2 && SECONDS - start >= 30 )); then
		echo "s3server: still building versitygw ($((SECONDS - start))s)" >&2
		sleep 2
	fi
done
wait "${pid}"
echo "s3server: built versitygw in $((SECONDS - start))s" >&2

got="$("${work}/versitygw" --version | awk '$1 == "Version" { print $3 }')"
if [[ "${got}" != "v${VERSITYGW_VERSION}" ]]; then
	echo "s3server: versitygw reports version '${got}', want 'v${VERSITYGW_VERSION}'" >&2
	exit 1
fi

mkdir -p "${dest}"
rm -f "${dest}"/.built-*
mv -f "${work}/versitygw" "${bin}"
touch "${stamp}"
echo "${bin}"
