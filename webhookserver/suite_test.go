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

package webhookserver

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
	"github.com/parcelops/parcel-operator/controllers"
	"github.com/parcelops/parcel-operator/internal/courierauth"
	"github.com/parcelops/parcel-operator/internal/podstore"
	"github.com/parcelops/parcel-operator/internal/s3test"
	"github.com/parcelops/parcel-operator/internal/testenv"
)

const podBucket = "parcel-pods"

var (
	ctx       context.Context
	cancel    context.CancelFunc
	testEnv   *envtest.Environment
	scheme    = runtime.NewScheme()
	k8sClient client.Client
	s3Server  *s3test.Server
	store     *podstore.Store
	server    *Server
	apiURL    string
	apiDone   chan error
	mgrDone   chan struct{}
)

func TestWebhookServer(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Courier API")
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	ctx, cancel = context.WithCancel(context.TODO())
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(trackingv1alpha1.AddToScheme(scheme))

	var err error
	env, restCfg, err := testenv.Start()
	Expect(err).NotTo(HaveOccurred())
	testEnv = env
	k8sClient, err = client.New(restCfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())

	s3Server, err = s3test.Start(ctx)
	Expect(err).NotTo(HaveOccurred())
	Expect(s3Server.SetProcessEnv()).To(Succeed())
	Expect(s3Server.CreateBucket(ctx, podBucket)).To(Succeed())
	store, err = podstore.Open(ctx, s3Server.BucketURL(podBucket))
	Expect(err).NotTo(HaveOccurred())

	// The manager as cmd/main.go builds it: both controllers and the courier
	// API, Secrets cached by label only.
	mgr, err := ctrl.NewManager(restCfg, ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Cache: cache.Options{
			DefaultTransform: cache.TransformStripManagedFields(),
			ByObject:         courierauth.CacheByObject(),
		},
	})
	Expect(err).NotTo(HaveOccurred())
	Expect(courierauth.IndexFields(ctx, mgr.GetFieldIndexer())).To(Succeed())
	auth := &courierauth.Authenticator{Reader: mgr.GetClient()}
	Expect((&controllers.ParcelReconciler{
		Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Recorder: mgr.GetEventRecorder("parcel-controller"), Store: store,
		Transitions: trackingv1alpha1.DefaultTransitions, Clock: clock.RealClock{},
	}).SetupWithManager(mgr, 4)).To(Succeed())
	Expect((&controllers.CourierReconciler{Client: mgr.GetClient(), Auth: auth, Clock: clock.RealClock{}}).
		SetupWithManager(mgr)).To(Succeed())
	server = &Server{
		Client:      mgr.GetClient(),
		APIReader:   mgr.GetAPIReader(),
		Auth:        auth,
		Store:       store,
		Transitions: trackingv1alpha1.DefaultTransitions,
		Clock:       clock.RealClock{},
		Log:         logf.Log.WithName("webhook"),
		Limits:      DefaultLimits(),
		CacheSynced: mgr.GetCache().WaitForCacheSync,
		Guard:       NewGuard(suiteGuardOptions()),
	}
	// The courier API as Start serves it, timeouts and limits included, on
	// a port of its own.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	apiURL = "http://" + ln.Addr().String()
	apiDone = make(chan error, 1)
	go func() { apiDone <- server.Serve(ctx, ln) }()

	mgrDone = make(chan struct{})
	go func() {
		defer GinkgoRecover()
		defer close(mgrDone)
		Expect(mgr.Start(ctx)).To(Succeed())
	}()
	Expect(mgr.GetCache().WaitForCacheSync(ctx)).To(BeTrue())
})

var _ = AfterSuite(func() {
	cancel()
	if apiDone != nil {
		Expect(<-apiDone).To(Succeed())
	}
	if mgrDone != nil {
		<-mgrDone
	}
	if store != nil {
		Expect(store.Close()).To(Succeed())
	}
	if s3Server != nil {
		Expect(s3Server.Close()).To(Succeed())
	}
	if testEnv != nil {
		Expect(testEnv.Stop()).To(Succeed())
	}
	checkDocumentedAnswers()
})

var _ = BeforeEach(func() {
	SetDefaultEventuallyTimeout(20 * time.Second)
	SetDefaultEventuallyPollingInterval(50 * time.Millisecond)
})

// httpClient talks to the test server; no test waits on a slow answer.
var httpClient = &http.Client{Timeout: 30 * time.Second}

// suiteGuardOptions are the default limits, except for failed
// authentications: every test talks from 127.0.0.1, and the tests that
// send bad credentials on purpose must not lock the others out. The limit
// itself is tested on a server of its own.
func suiteGuardOptions() GuardOptions {
	opts := DefaultGuardOptions()
	opts.UnauthenticatedRate = 1000
	opts.UnauthenticatedBurst = 10_000
	return opts
}
