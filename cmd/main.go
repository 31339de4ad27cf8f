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

// Command manager is parcel-operator's one binary: the Parcel and Courier
// controllers (on the elected leader) and the courier API (on every
// replica).
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
	"github.com/parcelops/parcel-operator/controllers"
	"github.com/parcelops/parcel-operator/internal/courierauth"
	"github.com/parcelops/parcel-operator/internal/podstore"
	"github.com/parcelops/parcel-operator/webhookserver"
)

// leaderElectionID names the Lease the replicas compete for.
const leaderElectionID = "parcel-operator.tracking.parcelops.io"

var (
	scheme   = runtime.NewScheme()
	setupLog = ctrl.Log.WithName("setup")
)

func init() {
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(trackingv1alpha1.AddToScheme(scheme))
}

// options are the manager's command-line flags.
type options struct {
	metricsAddr          string
	probeAddr            string
	secureMetrics        bool
	enableHTTP2          bool
	enableLeaderElection bool
	podBucket            string
	podRetention         string
	maxConcurrent        int
	webhookAddr          string
	leaderElectionNS     string
}

func main() {
	var o options
	flag.StringVar(&o.metricsAddr, "metrics-bind-address", ":8443",
		"Address the metrics endpoint binds to: :8443 for HTTPS, :8080 for HTTP, 0 to disable.")
	flag.StringVar(&o.probeAddr, "health-probe-bind-address", ":8081", "Address the health probes bind to.")
	flag.BoolVar(&o.secureMetrics, "metrics-secure", true,
		"Serve metrics over HTTPS, to callers the API server authenticates and authorizes.")
	flag.BoolVar(&o.enableHTTP2, "enable-http2", false,
		"Allow HTTP/2 on the metrics server; off by default against the HTTP/2 Stream Cancellation and Rapid Reset CVEs.")
	flag.BoolVar(&o.enableLeaderElection, "leader-elect", false,
		"Elect a leader so only one replica reconciles; required with more than one replica.")
	flag.StringVar(&o.leaderElectionNS, "leader-election-namespace", "",
		"Namespace of the leader election Lease; defaults to the Pod's own namespace in a cluster, and must be set outside one.")
	flag.StringVar(&o.podBucket, "pod-bucket", defaultPODBucket(),
		"Bucket URL for proof-of-delivery files: s3://bucket?endpoint=…&use_path_style=true, gs://…, azblob://…, file:///dir. "+
			"Credentials come from the environment or workload identity, never the URL.")
	flag.StringVar(&o.podRetention, "pod-retention", string(controllers.PODRetentionRetain),
		"What happens to stored proof-of-delivery files when their Parcel is deleted: Retain, or Delete (through a finalizer).")
	flag.IntVar(&o.maxConcurrent, "max-concurrent-reconciles", 4, "Parcels reconciled at once.")
	flag.StringVar(&o.webhookAddr, "webhook-bind-address", ":8080",
		"Address the courier API (the webhook couriers post tracking updates to) binds to.")
	zapOpts := zap.Options{}
	zapOpts.BindFlags(flag.CommandLine)
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))

	if err := run(ctrl.SetupSignalHandler(), o); err != nil {
		setupLog.Error(err, "manager stopped")
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	retention := controllers.PODRetention(o.podRetention)
	if retention != controllers.PODRetentionRetain && retention != controllers.PODRetentionDelete {
		return fmt.Errorf("--pod-retention=%q: want Retain or Delete", o.podRetention)
	}
	if o.maxConcurrent < 1 {
		return fmt.Errorf("--max-concurrent-reconciles=%d: want at least 1", o.maxConcurrent)
	}

	var tlsOpts []func(*tls.Config)
	if !o.enableHTTP2 {
		tlsOpts = append(tlsOpts, func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} })
	}
	metricsOptions := metricsserver.Options{
		BindAddress:   o.metricsAddr,
		SecureServing: o.secureMetrics,
		TLSOpts:       tlsOpts,
	}
	if o.secureMetrics {
		metricsOptions.FilterProvider = filters.WithAuthenticationAndAuthorization
	}

	mgr, err := ctrl.NewManager(ctrl.GetConfigOrDie(), ctrl.Options{
		Scheme:                        scheme,
		Metrics:                       metricsOptions,
		HealthProbeBindAddress:        o.probeAddr,
		LeaderElection:                o.enableLeaderElection,
		LeaderElectionID:              leaderElectionID,
		LeaderElectionNamespace:       o.leaderElectionNS,
		LeaderElectionReleaseOnCancel: true,
		Cache: cache.Options{
			// managedFields are a large share of a Parcel's bytes and nothing
			// here reads them.
			DefaultTransform: cache.TransformStripManagedFields(),
			ByObject:         courierauth.CacheByObject(),
		},
	})
	if err != nil {
		return fmt.Errorf("creating the manager: %w", err)
	}

	store, err := podstore.Open(ctx, o.podBucket)
	if err != nil {
		return fmt.Errorf("opening the proof-of-delivery bucket: %w", err)
	}
	defer func() { _ = store.Close() }()

	if err := (&controllers.ParcelReconciler{
		Client:      mgr.GetClient(),
		Recorder:    mgr.GetEventRecorder("parcel-controller"),
		Store:       store,
		Transitions: trackingv1alpha1.DefaultTransitions,
		Retention:   retention,
		Clock:       clock.RealClock{},
	}).SetupWithManager(mgr, o.maxConcurrent); err != nil {
		return fmt.Errorf("setting up the Parcel controller: %w", err)
	}
	if err := courierauth.IndexFields(ctx, mgr.GetFieldIndexer()); err != nil {
		return err
	}
	auth := &courierauth.Authenticator{Reader: mgr.GetClient()}
	if err := (&controllers.CourierReconciler{
		Client: mgr.GetClient(),
		Auth:   auth,
		Clock:  clock.RealClock{},
	}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up the Courier controller: %w", err)
	}
	if err := mgr.Add(&webhookserver.Server{
		Client:      mgr.GetClient(),
		APIReader:   mgr.GetAPIReader(),
		Auth:        auth,
		Store:       store,
		Transitions: trackingv1alpha1.DefaultTransitions,
		Clock:       clock.RealClock{},
		Log:         ctrl.Log.WithName("webhook"),
		Limits:      webhookserver.DefaultLimits(),
		BindAddress: o.webhookAddr,
		CacheSynced: mgr.GetCache().WaitForCacheSync,
	}); err != nil {
		return fmt.Errorf("adding the courier API server: %w", err)
	}

	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return fmt.Errorf("adding the health check: %w", err)
	}
	// Ready once the cache has synced: before that no courier token is
	// known and every request would be refused.
	if err := mgr.AddReadyzCheck("cache-synced", func(r *http.Request) error {
		syncCtx, cancel := context.WithTimeout(r.Context(), time.Second)
		defer cancel()
		if !mgr.GetCache().WaitForCacheSync(syncCtx) {
			return errors.New("the cache has not synced yet")
		}
		return nil
	}); err != nil {
		return fmt.Errorf("adding the ready check: %w", err)
	}

	setupLog.Info("starting manager", "podBucket", store.ObjectURL(""), "podRetention", retention)
	return mgr.Start(ctx)
}

// defaultPODBucket keeps proof-of-delivery files in the user's data
// directory, so the binary works out of the box on a laptop. Clusters pass
// --pod-bucket.
func defaultPODBucket() string {
	dir := os.Getenv("XDG_DATA_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			home = os.TempDir()
		}
		dir = filepath.Join(home, ".local", "share")
	}
	return "file://" + filepath.Join(dir, "parcel-operator", "pods")
}
