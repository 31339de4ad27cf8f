#!/usr/bin/env bash
# envtest.sh builds the control plane the tests run against (kube-apiserver,
# etcd and kubectl) from the Go module proxy, because the usual envtest
# binary downloads are unreachable from our build machines.
#
# The binaries land in a cache outside the checkout, keyed by version:
#   ${ENVTEST_CACHE}/k8s/<kube version>-<os>-<arch>/{kube-apiserver,etcd,kubectl}
# A second run finds them and returns at once. The last line on stdout is the
# directory, ready for KUBEBUILDER_ASSETS.
set -euo pipefail

KUBE_VERSION="${KUBE_VERSION:?KUBE_VERSION is required, e.g. 1.37.2}"
ETCD_VERSION="${ETCD_VERSION:?ETCD_VERSION is required, e.g. 3.6.16}"
ENVTEST_CACHE="${ENVTEST_CACHE:-${XDG_DATA_HOME:-$HOME/.local/share}/kubebuilder-envtest}"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
goos="$(go env GOOS)"
goarch="$(go env GOARCH)"
dest="${ENVTEST_CACHE}/k8s/${KUBE_VERSION}-${goos}-${goarch}"
stamp="${dest}/.built-kube-v${KUBE_VERSION}-etcd-v${ETCD_VERSION}"

if [[ -f "${stamp}" ]]; then
	echo "${dest}"
	exit 0
fi

mkdir -p "${ENVTEST_CACHE}"
# One builder at a time: a second `make test` in another shell waits here.
exec 9>"${ENVTEST_CACHE}/.lock"
flock 9
if [[ -f "${stamp}" ]]; then
	echo "${dest}"
	exit 0
fi

# check_pins refuses to build when a tools module names another version than
# the Makefile asks for, so the cache key never lies about its contents.
check_pins() {
	local module="$1" path="$2" want="$3"
	if ! grep -qE "^[[:space:]]*(require[[:space:]]+)?${path//./\\.} v${want//./\\.}( // indirect)?$" "${root}/${module}/go.mod"; then
		echo "envtest: ${module}/go.mod does not require ${path} v${want}; update it and run go mod tidy there" >&2
		exit 1
	fi
}
check_pins hack/tools/controlplane k8s.io/kubernetes "${KUBE_VERSION}"
check_pins hack/tools/etcd go.etcd.io/etcd/server/v3 "${ETCD_VERSION}"

# build NAME MODULE_DIR PACKAGE [LDFLAGS] compiles one binary with a progress
# line every 30 seconds, so a first build (minutes) never looks hung.
build() {
	local name="$1" dir="$2" pkg="$3" ldflags="${4:-}"
	local start=$SECONDS
	echo "envtest: building ${name} (first build takes a few minutes)" >&2
	(cd "${root}/${dir}" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w ${ldflags}" -o "${work}/${name}" "${pkg}") &
	local pid=$!
	while kill -0 "${pid}" 2>/dev/null; do
		sleep 2
		if (( (SECONDS - start) % 30 < 2 && SECONDS - start >= 30 )); then
			echo "envtest: still building ${name} ($((SECONDS - start))s)" >&2
			sleep 2
		fi
	done
	wait "${pid}"
	echo "envtest: built ${name} in $((SECONDS - start))s" >&2
}

work="$(mktemp -d "${ENVTEST_CACHE}/.build.XXXXXX")"
trap 'rm -rf "${work}"' EXIT

kube_minor="$(cut -d. -f2 <<<"${KUBE_VERSION}")"
version_ldflags=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
	version_ldflags+=" -X ${pkg}.gitVersion=v${KUBE_VERSION}"
	version_ldflags+=" -X ${pkg}.gitMajor=1 -X ${pkg}.gitMinor=${kube_minor}"
	version_ldflags+=" -X ${pkg}.gitTreeState=clean"
done

build kube-apiserver hack/tools/controlplane k8s.io/kubernetes/cmd/kube-apiserver "${version_ldflags}"
build kubectl hack/tools/controlplane k8s.io/kubernetes/cmd/kubectl "${version_ldflags}"
build etcd hack/tools/etcd go.etcd.io/etcd/server/v3

got="$("${work}/kube-apiserver" --version)"
if [[ "${got}" != "Kubernetes v${KUBE_VERSION}" ]]; then
	echo "envtest: kube-apiserver reports '${got}', want 'Kubernetes v${KUBE_VERSION}'" >&2
	exit 1
fi

mkdir -p "${dest}"
for bin in kube-apiserver etcd kubectl; do
	mv -f "${work}/${bin}" "${dest}/${bin}"
done
touch "${stamp}"
echo "${dest}"
