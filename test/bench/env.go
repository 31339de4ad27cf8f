/*
Copyright 2026 The parcel-operator Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
	"github.com/parcelops/parcel-operator/internal/managerproc"
	"github.com/parcelops/parcel-operator/internal/s3test"
	"github.com/parcelops/parcel-operator/internal/testenv"
)

// podBucket is the bucket the manager stores proof-of-delivery files in.
const podBucket = "bench-pods"

// etcdQuotaBytes is etcd's backend quota, its documented maximum.
const etcdQuotaBytes = 8 << 30

// auditPolicy records, at Metadata level, only the status writes to
// Parcels: enough to count them (the no-op check) without slowing the API
// server down by auditing the load itself.
const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived", "ResponseStarted", "Panic"]
rules:
- level: Metadata
  verbs: ["patch", "update"]
  resources:
  - group: tracking.parcelops.io
    resources: ["parcels/status"]
- level: None
`

// courier is one Courier the benchmark posts as.
type courier struct {
	namespace string
	token     string
}

// bench holds everything the run started; close releases all of it.
type bench struct {
	tmp        string
	controlPl  *envtest.Environment
	cfg        *rest.Config
	kubeconfig string
	client     client.WithWatch
	// apiHTTP reaches the API server's /metrics and /debug/pprof as the
	// admin user.
	apiHTTP    *http.Client
	s3         *s3test.Server
	managerBin string
	manager    *manager
	audit      *auditLog
	couriers   []courier
	// managerArgs are the -manager-arg flags, given to every start of the
	// manager.
	managerArgs []string
}

// start builds the manager, starts kube-apiserver and etcd with the CRDs
// and status-write auditing, and versitygw with a bucket.
func start(ctx context.Context) (*bench, error) {
	tmp, err := os.MkdirTemp("", "parcel-bench-")
	if err != nil {
		return nil, fmt.Errorf("creating a temporary directory: %w", err)
	}
	b := &bench{tmp: tmp}
	logf("building the manager binary")
	if b.managerBin, err = managerproc.Build(ctx, testenv.RepoRoot(), tmp); err != nil {
		return b, err
	}

	logf("starting kube-apiserver and etcd")
	assets, err := testenv.AssetsDir()
	if err != nil {
		return b, err
	}
	policy := filepath.Join(tmp, "audit-policy.yaml")
	if err := os.WriteFile(policy, []byte(auditPolicy), 0o600); err != nil {
		return b, fmt.Errorf("writing the audit policy: %w", err)
	}
	b.audit = &auditLog{path: filepath.Join(tmp, "audit.log")}
	b.controlPl = &envtest.Environment{
		BinaryAssetsDirectory: assets,
		CRDDirectoryPaths:     []string{filepath.Join(testenv.RepoRoot(), "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
	}
	b.controlPl.ControlPlane.GetAPIServer().Configure().
		Set("audit-policy-file", policy).
		Set("audit-log-path", b.audit.path).
		// kube-apiserver's default, set so the CPU profile of the peak
		// step (/debug/pprof/profile) never depends on it.
		Set("profiling", "true")
	// etcd's documented maximum backend size, not its 2 GiB default
	// (about 250,000 Parcels of eight events): the scale series stops at
	// kube-apiserver's memory ceiling or its last count, never on etcd's
	// "database space exceeded".
	b.controlPl.ControlPlane.Etcd = &envtest.Etcd{}
	b.controlPl.ControlPlane.Etcd.Configure().Set("quota-backend-bytes", strconv.Itoa(etcdQuotaBytes))
	if _, err := b.controlPl.Start(); err != nil {
		return b, fmt.Errorf("starting the control plane: %w", err)
	}
	if b.kubeconfig, b.cfg, err = testenv.Admin(b.controlPl, "bench-admin", tmp); err != nil {
		return b, err
	}
	// The manager's own client has client-side rate limiting off
	// (controller-runtime's GetConfig sets QPS -1); so does ours, so the
	// API server is the only limit either side meets.
	b.cfg.QPS = -1
	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(trackingv1alpha1.AddToScheme(scheme))
	if b.client, err = client.NewWithWatch(b.cfg, client.Options{Scheme: scheme}); err != nil {
		return b, fmt.Errorf("creating the client: %w", err)
	}
	if b.apiHTTP, err = rest.HTTPClientFor(b.cfg); err != nil {
		return b, fmt.Errorf("creating the API server's HTTP client: %w", err)
	}

	logf("starting versitygw")
	if b.s3, err = s3test.Start(ctx); err != nil {
		return b, err
	}
	if err := b.s3.CreateBucket(ctx, podBucket); err != nil {
		return b, fmt.Errorf("creating the bucket: %w", err)
	}
	return b, nil
}

// close stops everything start and the run started, and removes the
// temporary directory.
func (b *bench) close() {
	if b.manager != nil {
		b.manager.proc.Stop()
	}
	if b.s3 != nil {
		_ = b.s3.Close()
	}
	if b.controlPl != nil {
		if err := b.controlPl.Stop(); err != nil {
			logf("stopping the control plane: %v", err)
		}
	}
	_ = os.RemoveAll(b.tmp)
}

// createNamespace creates a namespace.
func (b *bench) createNamespace(ctx context.Context, name string) error {
	if err := b.client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}); err != nil {
		return fmt.Errorf("creating namespace %s: %w", name, err)
	}
	return nil
}

// createCouriers installs n Couriers, each in its own namespace with its
// own token, with a rate limit high enough never to be what is measured.
func (b *bench) createCouriers(ctx context.Context, n int) error {
	for i := range n {
		ns := fmt.Sprintf("bench-courier-%d", i)
		if err := b.createNamespace(ctx, ns); err != nil {
			return err
		}
		buf := make([]byte, 24)
		if _, err := rand.Read(buf); err != nil {
			return fmt.Errorf("generating a token: %w", err)
		}
		token := hex.EncodeToString(buf)
		if err := b.client.Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "bench-token",
				Labels: map[string]string{"tracking.parcelops.io/courier-credentials": "true"}},
			StringData: map[string]string{"token": token},
		}); err != nil {
			return fmt.Errorf("creating the courier Secret in %s: %w", ns, err)
		}
		if err := b.client.Create(ctx, &trackingv1alpha1.Courier{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "bench"},
			Spec: trackingv1alpha1.CourierSpec{
				DisplayName: "Benchmark courier",
				SecretRef:   trackingv1alpha1.SecretReference{Name: "bench-token"},
				RateLimit:   &trackingv1alpha1.RateLimit{RequestsPerSecond: 100000, Burst: 200000},
			},
		}); err != nil {
			return fmt.Errorf("creating the Courier in %s: %w", ns, err)
		}
		b.couriers = append(b.couriers, courier{namespace: ns, token: token})
	}
	return nil
}
