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

package controllers

import (
	"context"
	"path/filepath"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
	"github.com/parcelops/parcel-operator/internal/eventrecorder"
	"github.com/parcelops/parcel-operator/internal/podstore"
	"github.com/parcelops/parcel-operator/internal/retention"
	"github.com/parcelops/parcel-operator/internal/s3test"
	"github.com/parcelops/parcel-operator/internal/testenv"
)

// podBucket is the bucket the S3 specs store files in.
const podBucket = "parcel-pods"

var (
	ctx       context.Context
	cancel    context.CancelFunc
	testEnv   *envtest.Environment
	cfg       *rest.Config
	scheme    = runtime.NewScheme()
	k8sClient client.Client
	s3Server  *s3test.Server
)

func TestControllers(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Controllers")
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	ctx, cancel = context.WithCancel(context.TODO())
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(trackingv1alpha1.AddToScheme(scheme))

	var err error
	testEnv, cfg, err = testenv.Start()
	Expect(err).NotTo(HaveOccurred())
	k8sClient, err = client.New(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())

	s3Server, err = s3test.Start(ctx)
	Expect(err).NotTo(HaveOccurred())
	Expect(s3Server.SetProcessEnv()).To(Succeed())
	Expect(s3Server.CreateBucket(ctx, podBucket)).To(Succeed())
})

var _ = AfterSuite(func() {
	cancel()
	if s3Server != nil {
		Expect(s3Server.Close()).To(Succeed())
	}
	if testEnv != nil {
		Expect(testEnv.Stop()).To(Succeed())
	}
})

// backend is an object store the POD specs run against.
type backend struct {
	name      string
	bucketURL func() string
}

var backends = []backend{
	{name: "file", bucketURL: func() string { return "file://" + filepath.Join(GinkgoT().TempDir(), "pods") }},
	{name: "s3", bucketURL: func() string { return s3Server.BucketURL(podBucket) }},
}

// harness is one running manager and what the specs need to drive it.
type harness struct {
	// label marks the Parcels this harness's manager watches, so managers
	// of different specs never reconcile each other's Parcels.
	label      map[string]string
	store      *podstore.Store
	reconciler *ParcelReconciler
}

// startManager runs a manager with a ParcelReconciler on the given bucket
// until the enclosing container ends. extra, when given, sets up more
// controllers on the manager before it starts.
func startManager(name, bucketURL string, onDelete retention.OnDelete, extra ...func(ctrl.Manager, *harness)) *harness {
	GinkgoHelper()
	store, err := podstore.Open(ctx, bucketURL)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(store.Close)

	h := &harness{label: map[string]string{"test.parcelops.io/manager": name}, store: store}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Controller:             config.Controller{SkipNameValidation: ptr.To(true)},
		Cache: cache.Options{
			DefaultLabelSelector: labels.SelectorFromSet(h.label),
			DefaultTransform:     cache.TransformStripManagedFields(),
		},
	})
	Expect(err).NotTo(HaveOccurred())
	mgrCtx, stop := context.WithCancel(ctx)
	recorders, err := eventrecorder.New(mgrCtx, cfg, mgr.GetHTTPClient(), scheme)
	Expect(err).NotTo(HaveOccurred())
	h.reconciler = &ParcelReconciler{
		Client:      mgr.GetClient(),
		APIReader:   mgr.GetAPIReader(),
		Recorder:    recorders.Recorder("parcel-controller"),
		Store:       store,
		Transitions: trackingv1alpha1.DefaultTransitions,
		OnDelete:    onDelete,
		Clock:       clock.RealClock{},
	}
	Expect(h.reconciler.SetupWithManager(mgr, 2)).To(Succeed())
	for _, setup := range extra {
		setup(mgr, h)
	}

	done := make(chan struct{})
	go func() {
		defer GinkgoRecover()
		defer close(done)
		Expect(mgr.Start(mgrCtx)).To(Succeed())
	}()
	DeferCleanup(func() {
		stop()
		<-done
	})
	return h
}
