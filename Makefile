# Image to build and deploy.
IMG ?= ghcr.io/parcelops/parcel-operator:latest

# Versions of everything the build and the tests run. Each Go tool is pinned
# in its own module under hack/tools/ and built from the Go module proxy.
KUBE_VERSION ?= 1.37.2
ETCD_VERSION ?= 3.6.16
CONTROLLER_TOOLS_VERSION ?= v0.23.0
KUSTOMIZE_VERSION ?= v5.8.2
GOLANGCI_LINT_VERSION ?= v2.15.0
GOVULNCHECK_VERSION ?= v1.9.0
VERSITYGW_VERSION ?= 1.8.0
HELM_VERSION ?= v3.22.0
# The Prometheus release promtool is (as its Go module version: v0.305.3 is
# Prometheus 3.5.3, the LTS line), also the parser promql-metrics is built from.
PROMETHEUS_VERSION ?= v0.305.3

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
GOVULNCHECK ?= $(LOCALBIN)/govulncheck-$(GOVULNCHECK_VERSION)
HELM ?= $(LOCALBIN)/helm-$(HELM_VERSION)
PROMQL_METRICS ?= $(LOCALBIN)/promql-metrics-$(PROMETHEUS_VERSION)
ENVTEST_CACHE ?= $(or $(XDG_DATA_HOME),$(HOME)/.local/share)/kubebuilder-envtest
ENVTEST_ASSETS ?= $(ENVTEST_CACHE)/k8s/$(KUBE_VERSION)-$(GOOS)-$(GOARCH)
# The S3 server the tests store proof-of-delivery files in, cached the same way.
VERSITYGW ?= $(or $(XDG_DATA_HOME),$(HOME)/.local/share)/parcel-operator/versitygw/v$(VERSITYGW_VERSION)/versitygw
# promtool, which checks and unit-tests the alerts, cached the same way.
PROMTOOL ?= $(or $(XDG_DATA_HOME),$(HOME)/.local/share)/parcel-operator/promtool/$(PROMETHEUS_VERSION)/promtool
# The dashboard and the alerts: one source each, copied into the chart.
DASHBOARD = config/grafana/parcel-operator.json
RULES = config/prometheus/rules.yaml

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

# The packages controller-gen reads markers from: the main module's, and not
# the experiment in hack/typedapi (a module of its own, see generate-typed-api).
GEN_PATHS = ./api/...;./cmd/...;./controllers/...;./internal/...;./webhookserver/...

.PHONY: manifests
manifests: controller-gen ## Generate CRDs and RBAC from the kubebuilder markers.
	"$(CONTROLLER_GEN)" rbac:roleName=manager-role crd paths="$(GEN_PATHS)" output:crd:artifacts:config=config/crd/bases
	$(MAKE) --no-print-directory chart-files

.PHONY: chart-files
chart-files: ## Copy the generated CRDs and manager role, the dashboard and the alerts into dist/chart; wrap the alerts in a PrometheusRule for config/prometheus.
	rm -f dist/chart/crds/*.yaml
	cp config/crd/bases/*.yaml dist/chart/crds/
	cp config/rbac/role.yaml dist/chart/files/role.yaml
	cp "$(DASHBOARD)" dist/chart/files/
	cp "$(RULES)" dist/chart/files/
	hack/prometheusrule.sh "$(RULES)" > config/prometheus/prometheus_rule.yaml

.PHONY: generate
generate: controller-gen ## Generate the DeepCopy methods.
	"$(CONTROLLER_GEN)" object:headerFile="hack/boilerplate.go.txt" paths="$(GEN_PATHS)"

.PHONY: generate-typed-api
generate-typed-api: controller-gen ## Generate the DeepCopy methods of the typed API server experiment (hack/typedapi).
	cd hack/typedapi && "$(CONTROLLER_GEN)" object:headerFile="../boilerplate.go.txt" paths="./apis/..."

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

.PHONY: vulncheck
vulncheck: govulncheck ## Report known vulnerabilities the code reaches, offline, against the database hack/tools/govulncheck pins.
	db="$$(hack/vulndb.sh | tail -1)"; "$(GOVULNCHECK)" -db "file://$$db" ./...

.PHONY: test
test: ## Lint, check for vulnerabilities, run every test against a real control plane, then the fault tests on their own.
	$(MAKE) --no-print-directory -j2 test-checks test-tools
	$(MAKE) --no-print-directory test-rules
	KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" VERSITYGW="$(VERSITYGW)" KUSTOMIZE="$(KUSTOMIZE)" HELM="$(HELM)" PROMQL_METRICS="$(PROMQL_METRICS)" \
		go test ./... -coverprofile cover.out 2>&1 | tee bin/test.log || { hack/failures.sh bin/test.log; exit 1; }
	$(MAKE) --no-print-directory test-faults

# test prepares in two halves side by side, since neither needs the other:
# the code generation and static checks, in order, and the tools and the
# control plane the tests run. On a fresh machine both are mostly module
# downloads and builds, and one half's downloads and links leave a core
# the other half's compiles use.
.PHONY: test-checks test-tools
test-checks: ## Code generation, go fmt, go vet, make lint and make vulncheck, in order; then the typed API server experiment's build, vet and unit tests.
	$(MAKE) --no-print-directory -j1 manifests generate fmt vet lint vulncheck test-typed-api
test-tools: envtest s3server kustomize helm promtool promql-metrics ## Build (or find cached) every tool and the control plane the tests run.

.PHONY: test-rules
test-rules: promtool promql-metrics ## Check the alerts and run their unit tests (config/prometheus/tests) with promtool; parse every PromQL expression of the dashboard and the alerts.
	"$(PROMTOOL)" check rules "$(RULES)"
	"$(PROMTOOL)" test rules config/prometheus/tests/*.yaml
	go test -C hack/tools/promtool ./promql-metrics
	"$(PROMQL_METRICS)" "$(DASHBOARD)" "$(RULES)" >/dev/null

.PHONY: test-chart
test-chart: envtest kustomize helm ## Run only the chart's tests: helm lint, render equality with config/default, server-side dry run.
	KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" KUSTOMIZE="$(KUSTOMIZE)" HELM="$(HELM)" go test ./test/chart/ -count=1 -v

.PHONY: test-typed-api
test-typed-api: generate-typed-api ## Build, vet and unit-test the typed API server experiment (hack/typedapi, its own module; part of make test, so it cannot rot); make spike-typed-api runs its aggregated suite and benchmark.
	gofmt -l hack/typedapi | (! grep .)
	go -C hack/typedapi vet ./...
	env -u KUBEBUILDER_ASSETS go -C hack/typedapi test ./... -count=1

.PHONY: test-e2e
test-e2e: envtest s3server promql-metrics ## Run only the end-to-end test: the built binary against a control plane and S3.
	KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" VERSITYGW="$(VERSITYGW)" PROMQL_METRICS="$(PROMQL_METRICS)" go test ./test/e2e/ -count=1 -v

.PHONY: test-faults
test-faults: envtest s3server ## Run the fault tests alone (about 3 minutes; timing-sensitive, so not beside other suites): API server restart, store outage, leader kills under load.
	mkdir -p bin
	FAULTS=1 KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" VERSITYGW="$(VERSITYGW)" go test ./test/faults/ -count=1 -v -timeout 30m 2>&1 | \
		tee bin/faults.log || { hack/failures.sh bin/faults.log; exit 1; }

.PHONY: bench
bench: envtest s3server ## Measure the courier API and the manager against the raw API server in one run (BENCH_FLAGS, e.g. -quick); see docs/performance.md.
	KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" VERSITYGW="$(VERSITYGW)" go run ./test/bench $(BENCH_FLAGS)

.PHONY: bench-micro
bench-micro: envtest s3server ## Run the Go benchmarks (fold, reconcile pass over 1,000 Parcels, POD staging) side by side.
	KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" VERSITYGW="$(VERSITYGW)" go test ./... -run '^$$' -bench . -benchmem -count 1

.PHONY: spike-typed-api
spike-typed-api: envtest ## Experiment: the typed Parcel API server's suite, then its benchmark beside the CRD (SPIKE_FLAGS, e.g. -quick); see docs/scale.md.
	KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" go -C hack/typedapi test ./... -count=1
	KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" go -C hack/typedapi run ./bench -out "$(CURDIR)/bin/typedapi/results.json" $(SPIKE_FLAGS)

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

.PHONY: helm
helm: $(HELM) ## Build helm into bin/.
$(HELM): hack/tools/helm/go.mod
	go build -C hack/tools/helm -ldflags "-X helm.sh/helm/v3/internal/version.version=$(HELM_VERSION)" -o "$@" helm.sh/helm/v3/cmd/helm

.PHONY: promtool
promtool: ## Build promtool, which checks and unit-tests the alerts (minutes the first time, then cached).
	@PROMETHEUS_VERSION="$(PROMETHEUS_VERSION)" hack/promtool.sh >/dev/null

.PHONY: promql-metrics
promql-metrics: $(PROMQL_METRICS) ## Build promql-metrics, which parses the dashboard's and the alerts' PromQL and lists the metrics they use.
$(PROMQL_METRICS): hack/tools/promtool/go.mod $(wildcard hack/tools/promtool/promql-metrics/*.go)
	go build -C hack/tools/promtool -o "$@" ./promql-metrics

.PHONY: golangci-lint
golangci-lint: $(GOLANGCI_LINT) ## Build golangci-lint into bin/.
$(GOLANGCI_LINT): hack/tools/golangci-lint/go.mod
	go build -C hack/tools/golangci-lint -o "$@" github.com/golangci/golangci-lint/v2/cmd/golangci-lint

.PHONY: govulncheck
govulncheck: $(GOVULNCHECK) ## Build govulncheck into bin/.
$(GOVULNCHECK): hack/tools/govulncheck/go.mod
	go build -C hack/tools/govulncheck -o "$@" golang.org/x/vuln/cmd/govulncheck
