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

// Package faults runs the manager binary under steady courier load and
// breaks what it depends on: the API server restarts, the object store goes
// away for half a minute, the leader is killed mid-move, a second replica
// takes over. After each fault it proves that nothing acknowledged was lost.
// It takes several minutes, so it runs only with FAULTS=1 (`make
// test-faults`).
package faults

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
	"github.com/parcelops/parcel-operator/internal/podstore"
	"github.com/parcelops/parcel-operator/internal/s3test"
	"github.com/parcelops/parcel-operator/internal/testenv"
)

// The names the suite installs.
const (
	podBucket    = "parcel-pods"
	courierNS    = "faults"
	courierName  = "acme"
	courierToken = "faults-token-0123456789abcdef"
	// leaseNS holds the leader election Lease.
	leaseNS = "parcel-operator-system"
	// stagingGrace is the managers' --staging-grace: just over the courier
	// API's request timeout (20 s), the shortest the manager accepts, so
	// orphaned uploads are swept within the run.
	stagingGrace = 25 * time.Second
)

var (
	ctx        context.Context
	cancel     context.CancelFunc
	controlPl  *envtest.Environment
	k8sClient  client.Client
	kubeconfig string
	s3Server   *s3test.Server
	store      *podstore.Store
	managerBin string
	// logDir holds the managers' logs for the whole run.
	logDir string
)

func TestFaults(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Fault tolerance")
}

var _ = BeforeSuite(func() {
	if os.Getenv("FAULTS") == "" {
		Skip("the fault tests take several minutes; run them with `make test-faults` (FAULTS=1)")
	}
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	ctx, cancel = context.WithCancel(context.TODO())
	root := testenv.RepoRoot()
	assets, err := testenv.AssetsDir()
	Expect(err).NotTo(HaveOccurred())

	logDir = GinkgoT().TempDir()
	By("building the manager binary")
	managerBin = filepath.Join(GinkgoT().TempDir(), "manager")
	build := exec.Command("go", "build", "-o", managerBin, "./cmd")
	build.Dir = root
	out, err := build.CombinedOutput()
	Expect(err).NotTo(HaveOccurred(), "go build: %s", out)

	By("starting a control plane whose API server can be restarted on the same port with the same certificates")
	controlPl = &envtest.Environment{
		BinaryAssetsDirectory: assets,
		CRDDirectoryPaths:     []string{filepath.Join(root, "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
	}
	// A certificate directory of our own survives APIServer.Stop, which
	// otherwise discards a generated one; Start then reuses its serving
	// certificate, and the port stays the one first chosen.
	controlPl.ControlPlane.GetAPIServer().CertDir = GinkgoT().TempDir()
	_, err = controlPl.Start()
	Expect(err).NotTo(HaveOccurred())
	var cfg *rest.Config
	kubeconfig, cfg, err = testenv.Admin(controlPl, "faults-admin", GinkgoT().TempDir())
	Expect(err).NotTo(HaveOccurred())
	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(trackingv1alpha1.AddToScheme(scheme))
	// The checks read hundreds of Parcels; client-go's default 5 requests
	// a second would make them the slowest part of the run.
	cfg.QPS, cfg.Burst = 100, 200
	k8sClient, err = client.New(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())

	By("starting the S3 server")
	s3Server, err = s3test.Start(ctx)
	Expect(err).NotTo(HaveOccurred())
	Expect(s3Server.SetProcessEnv()).To(Succeed())
	Expect(s3Server.CreateBucket(ctx, podBucket)).To(Succeed())
	store, err = podstore.Open(ctx, s3Server.BucketURL(podBucket))
	Expect(err).NotTo(HaveOccurred())

	By("installing a courier")
	for _, ns := range []string{courierNS, leaseNS} {
		Expect(k8sClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())
	}
	Expect(k8sClient.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: courierNS, Name: "acme-token",
			Labels: map[string]string{"tracking.parcelops.io/courier-credentials": "true"}},
		StringData: map[string]string{"token": courierToken},
	})).To(Succeed())
	Expect(k8sClient.Create(ctx, &trackingv1alpha1.Courier{
		ObjectMeta: metav1.ObjectMeta{Namespace: courierNS, Name: courierName},
		Spec: trackingv1alpha1.CourierSpec{
			DisplayName: "ACME Logistics",
			SecretRef:   trackingv1alpha1.SecretReference{Name: "acme-token"},
		},
	})).To(Succeed())
})

var _ = AfterSuite(func() {
	stopReplicas()
	if cancel != nil {
		cancel()
	}
	if store != nil {
		Expect(store.Close()).To(Succeed())
	}
	if s3Server != nil {
		Expect(s3Server.Close()).To(Succeed())
	}
	if controlPl != nil {
		Expect(controlPl.Stop()).To(Succeed())
	}
})
