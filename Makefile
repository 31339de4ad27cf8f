# Image to build and deploy.
IMG ?= ghcr.io/parcelops/parcel-operator:latest

# Versions of everything the build and the tests run. Each Go tool is pinned
# in its own module under hack/tools/ and built from the Go module proxy.
KUBE_VERSION ?= 1.37.2
ETCD_VERSION ?= 3.6.16
CONTROLLER_TOOLS_VERSION ?= v0.23.0
KUSTOMIZE_VERSION ?= v5.8.2
GOLANGCI_LINT_VERSION ?= v2.15.0
VERSITYGW_VERSION ?= 1.8.0

# Where `make dev` serves the courier API, and its bucket (default: a
# directory under bin/dev).
WEBHOOK_ADDR ?= 127.0.0.1:8080
POD_BUCKET ?=

# How long `make fuzz` runs each fuzz target.
FUZZTIME ?= 5m

GOOS ?= $(shell go env GOOS)
GOARCH ?= $(shell go env GOARCH)

# Built tools go to bin/; the control plane, which takes minutes to build,
# goes to a cache outside the checkout shared by every clone.
LOCALBIN ?= $(CURDIR)/bin
CONTROLLER_GEN ?= $(LOCALBIN)/controller-gen-$(CONTROLLER_TOOLS_VERSION)
KUSTOMIZE ?= $(LOCALBIN)/kustomize-$(KUSTOMIZE_VERSION)
GOLANGCI_LINT ?= $(LOCALBIN)/golangci-lint-$(GOLANGCI_LINT_VERSION)
ENVTEST_CACHE ?= $(or $(XDG_DATA_HOME),$(HOME)/.local/share)/kubebuilder-envtest
ENVTEST_ASSETS ?= $(ENVTEST_CACHE)/k8s/$(KUBE_VERSION)-$(GOOS)-$(GOARCH)
# The S3 server the tests store proof-of-delivery files in, cached the same way.
VERSITYGW ?= $(or $(XDG_DATA_HOME),$(HOME)/.local/share)/parcel-operator/versitygw/v$(VERSITYGW_VERSION)/versitygw

# kubectl for install/deploy: the one on PATH, else the one built for envtest.
KUBECTL ?= $(or $(shell command -v kubectl 2>/dev/null),$(ENVTEST_ASSETS)/kubectl)

# The Go toolchain every build and test uses. go.mod names go 1.27, and a
# machine with an older Go takes this one from the Go module proxy.
export GOTOOLCHAIN = go1.27.3

# Every recipe runs in one bash with errors fatal.
SHELL = /usr/bin/env bash -o pipefail
.SHELLFLAGS = -ec

.PHONY: all
all: build

##@ General

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "\nUsage:\n  make \033[36m<target>\033[0m\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) } ' $(MAKEFILE_LIST)

##@ Development

.PHONY: manifests
manifests: controller-gen ## Generate CRDs and RBAC from the kubebuilder markers.
	"$(CONTROLLER_GEN)" rbac:roleName=manager-role crd paths="./..." output:crd:artifacts:config=config/crd/bases

.PHONY: generate
generate: controller-gen ## Generate the DeepCopy methods.
	"$(CONTROLLER_GEN)" object:headerFile="hack/boilerplate.go.txt" paths="./..."

.PHONY: fmt
fmt: ## Run go fmt.
	go fmt ./...

.PHONY: vet
vet: ## Run go vet.
	go vet ./...

.PHONY: lint
lint: golangci-lint ## Run golangci-lint (.golangci.yml) over the main module.
	"$(GOLANGCI_LINT)" run ./...

.PHONY: lint-fix
lint-fix: golangci-lint ## Run golangci-lint and apply the fixes it can make.
	"$(GOLANGCI_LINT)" run --fix ./...

.PHONY: test
test: manifests generate fmt vet envtest s3server ## Run every test against a real control plane, then the fault tests on their own.
	KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" VERSITYGW="$(VERSITYGW)" go test ./... -coverprofile cover.out
	$(MAKE) --no-print-directory test-faults

.PHONY: test-e2e
test-e2e: envtest s3server ## Run only the end-to-end test: the built binary against a control plane and S3.
	KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" VERSITYGW="$(VERSITYGW)" go test ./test/e2e/ -count=1 -v

.PHONY: test-faults
test-faults: envtest s3server ## Run the fault tests alone (about 3 minutes; timing-sensitive, so not beside other suites): API server restart, store outage, leader kills under load.
	FAULTS=1 KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" VERSITYGW="$(VERSITYGW)" go test ./test/faults/ -count=1 -v -timeout 30m

.PHONY: bench
bench: envtest s3server ## Measure the courier API and the manager against the raw API server in one run (BENCH_FLAGS, e.g. -quick); see docs/performance.md.
	KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" VERSITYGW="$(VERSITYGW)" go run ./test/bench $(BENCH_FLAGS)

.PHONY: bench-micro
bench-micro: envtest s3server ## Run the Go benchmarks (fold, reconcile pass over 1,000 Parcels, POD staging) side by side.
	KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" VERSITYGW="$(VERSITYGW)" go test ./... -run '^$$' -bench . -benchmem -count 1

.PHONY: fuzz
fuzz: ## Run each fuzz target for FUZZTIME (default 5m); what they find lands in testdata/fuzz.
	@set -e; for pkg in $$(go list ./...); do \
		for target in $$(go test "$$pkg" -list '^Fuzz' | grep '^Fuzz' || true); do \
			echo "fuzzing $$pkg $$target for $(FUZZTIME)"; \
			go test "$$pkg" -run '^$$' -fuzz "^$$target\$$" -fuzztime "$(FUZZTIME)" -parallel 1; \
		done; \
	done

.PHONY: verify
verify: manifests generate fmt ## Fail when generated or formatted files differ from what is committed.
	@if [ -n "$$(git status --porcelain)" ]; then \
		echo "the tree changed after make manifests generate fmt; commit the result:"; \
		git status --porcelain; git --no-pager diff --stat; exit 1; \
	fi

##@ Build

.PHONY: build
build: manifests generate fmt vet ## Build the manager binary.
	go build -o "$(LOCALBIN)/manager" ./cmd

.PHONY: build-plugin
build-plugin: fmt vet ## Build the kubectl plugin, bin/kubectl-parcel (put bin/ on PATH: `kubectl parcel --help`).
	go build -o "$(LOCALBIN)/kubectl-parcel" ./cmd/kubectl-parcel

.PHONY: run
run: manifests generate fmt vet ## Run the manager against the cluster in your kubeconfig.
	go run ./cmd

.PHONY: dev
dev: envtest manifests ## Run it locally: control plane, CRDs, a dev Courier, the manager; webhook on WEBHOOK_ADDR.
	go build -o "$(LOCALBIN)/manager" ./cmd
	go build -o "$(LOCALBIN)/devenv" ./hack/devenv
	KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" "$(LOCALBIN)/devenv" --manager "$(LOCALBIN)/manager" \
		--webhook-bind-address "$(WEBHOOK_ADDR)" --pod-bucket "$(POD_BUCKET)"

.PHONY: docker-build
docker-build: ## Build the manager image.
	docker build -t "$(IMG)" .

.PHONY: docker-push
docker-push: ## Push the manager image.
	docker push "$(IMG)"

##@ Deployment

.PHONY: install
install: manifests kustomize ## Install the CRDs into the cluster in your kubeconfig.
	"$(KUSTOMIZE)" build config/crd | "$(KUBECTL)" apply --server-side -f -

.PHONY: uninstall
uninstall: manifests kustomize ## Remove the CRDs (and every Parcel) from the cluster in your kubeconfig.
	"$(KUSTOMIZE)" build config/crd | "$(KUBECTL)" delete --ignore-not-found -f -

.PHONY: deploy
deploy: manifests kustomize ## Deploy the manager, image IMG, to the cluster in your kubeconfig.
	cd config/manager && "$(KUSTOMIZE)" edit set image controller="$(IMG)"
	"$(KUSTOMIZE)" build config/default | "$(KUBECTL)" apply --server-side -f -

.PHONY: build-installer
build-installer: manifests kustomize ## Write dist/install.yaml, the whole install from config/default with image IMG.
	mkdir -p dist
	cd config/manager && "$(KUSTOMIZE)" edit set image controller="$(IMG)"
	"$(KUSTOMIZE)" build config/default > dist/install.yaml

.PHONY: undeploy
undeploy: kustomize ## Remove the manager AND the CRDs, so every Parcel and Courier, from the cluster in your kubeconfig.
	"$(KUSTOMIZE)" build config/default | "$(KUBECTL)" delete --ignore-not-found -f -

##@ Tools

.PHONY: envtest
envtest: ## Build kube-apiserver, etcd and kubectl for the tests (minutes the first time, then cached).
	@KUBE_VERSION="$(KUBE_VERSION)" ETCD_VERSION="$(ETCD_VERSION)" ENVTEST_CACHE="$(ENVTEST_CACHE)" hack/envtest.sh >/dev/null

.PHONY: s3server
s3server: ## Build versitygw, the S3 server the tests store PODs in.
	@VERSITYGW_VERSION="$(VERSITYGW_VERSION)" hack/s3server.sh >/dev/null

.PHONY: controller-gen
controller-gen: $(CONTROLLER_GEN) ## Build controller-gen into bin/.
$(CONTROLLER_GEN): hack/tools/controller-gen/go.mod
	go build -C hack/tools/controller-gen -o "$@" sigs.k8s.io/controller-tools/cmd/controller-gen

.PHONY: kustomize
kustomize: $(KUSTOMIZE) ## Build kustomize into bin/.
$(KUSTOMIZE): hack/tools/kustomize/go.mod
	go build -C hack/tools/kustomize -o "$@" sigs.k8s.io/kustomize/kustomize/v5

.PHONY: golangci-lint
golangci-lint: $(GOLANGCI_LINT) ## Build golangci-lint into bin/.
$(GOLANGCI_LINT): hack/tools/golangci-lint/go.mod
	go build -C hack/tools/golangci-lint -o "$@" github.com/golangci/golangci-lint/v2/cmd/golangci-lint
