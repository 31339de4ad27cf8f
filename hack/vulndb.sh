#!/usr/bin/env bash
# vulndb.sh builds the Go vulnerability database `make vulncheck` checks
# against offline: the OSV reports shipped in the golang.org/x/vulndb module
# version hack/tools/govulncheck pins, indexed by that module's own
# cmd/indexdb into the v1 layout govulncheck reads with -db file://.
#
# The database lands in a cache outside the checkout, keyed by the vulndb
# version:
#   ${XDG_DATA_HOME:-~/.local/share}/parcel-operator/vulndb/<version>
# A second run finds it and returns at once. The last line on stdout is the
# directory.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
module="${root}/hack/tools/govulncheck"
version="$(go -C "${module}" list -m -f '{{.Version}}' golang.org/x/vulndb)"
cache="${XDG_DATA_HOME:-$HOME/.local/share}/parcel-operator/vulndb"
dest="${cache}/${version}"

if [[ -f "${dest}/index/db.json" ]]; then
	echo "${dest}"
	exit 0
fi

mkdir -p "${cache}"
# One builder at a time: a second run in another shell waits here.
exec 9>"${cache}/.lock"
flock 9
if [[ -f "${dest}/index/db.json" ]]; then
	echo "${dest}"
	exit 0
fi

echo "vulndb: indexing golang.org/x/vulndb ${version}" >&2
osv="$(go -C "${module}" mod download -json golang.org/x/vulndb | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')/data/osv"
work="$(mktemp -d "${cache}/.build.XXXXXX")"
trap 'rm -rf "${work}"' EXIT
go -C "${module}" run golang.org/x/vulndb/cmd/indexdb -vulns "${osv}" -out "${work}/db"
rm -rf "${dest}"
mv "${work}/db" "${dest}"
echo "${dest}"
