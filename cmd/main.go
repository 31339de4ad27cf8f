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
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
	"github.com/parcelops/parcel-operator/controllers"
	"github.com/parcelops/parcel-operator/internal/courierauth"
	"github.com/parcelops/parcel-operator/internal/eventrecorder"
	"github.com/parcelops/parcel-operator/internal/notify"
	"github.com/parcelops/parcel-operator/internal/parcelcache"
	"github.com/parcelops/parcel-operator/internal/podstore"
	"github.com/parcelops/parcel-operator/internal/retention"
	"github.com/parcelops/parcel-operator/internal/staging"
	"github.com/parcelops/parcel-operator/webhookserver"
)

// leaderElectionID names the Lease the replicas compete for.
const leaderElectionID = "parcel-operator.tracking.parcelops.io"

// defaultMaxConcurrentReconciles is how many Parcels are reconciled at once
// unless --max-concurrent-reconciles says otherwise.
const defaultMaxConcurrentReconciles = 4

// readyzSyncTimeout bounds how long one readiness probe waits for the cache.
const readyzSyncTimeout = time.Second

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
	pprofAddr            string
	secureMetrics        bool
	enableHTTP2          bool
	enableLeaderElection bool
	podBucket            string
	retention            *retention.Flags
	maxConcurrent        int
	events               string
	eventPolicy          controllers.EventPolicy
	webhookAddr          string
	webhookCertDir       string
	webhookGuard         webhookserver.GuardOptions
	trustedProxies       string
	leaderElectionNS     string
	stagingGrace         time.Duration
	notify               notify.Options
}

func main() {
	var o options
	flag.StringVar(&o.metricsAddr, "metrics-bind-address", ":8443",
		"Address the metrics endpoint binds to: :8443 for HTTPS, :8080 for HTTP, 0 to disable.")
	flag.StringVar(&o.probeAddr, "health-probe-bind-address", ":8081", "Address the health probes bind to.")
	flag.StringVar(&o.pprofAddr, "pprof-bind-address", "0",
		"Address Go's pprof profiles are served on (plain HTTP, unauthenticated: loopback only), e.g. 127.0.0.1:6060; 0 disables.")
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
	o.retention = retention.BindFlags(flag.CommandLine)
	flag.IntVar(&o.maxConcurrent, "max-concurrent-reconciles", defaultMaxConcurrentReconciles, "Parcels reconciled at once.")
	flag.StringVar(&o.events, "events", string(controllers.EventsAll),
		"Which Kubernetes Events the Parcel controller records: all (one per reconcile naming every transition it applied), "+
			"or exceptions (rejections, failures, Delivered, Failed Delivery and returns only, for high update rates). "+
			"Warnings are recorded under both.")
	flag.DurationVar(&o.stagingGrace, "staging-grace", time.Hour,
		"Age after which a staged proof-of-delivery file that no Parcel needs is deleted (a courier gave up after a 503, "+
			"or a replica died between staging and recording); must exceed the courier API's request timeout.")
	flag.StringVar(&o.webhookAddr, "webhook-bind-address", ":8080",
		"Address the courier API (the webhook couriers post tracking updates to) binds to.")
	flag.StringVar(&o.webhookCertDir, "webhook-cert-dir", "",
		"Directory with tls.crt and tls.key: the courier API serves HTTPS (TLS 1.2 or later) and picks up renewed files "+
			"without a restart. Empty serves plain HTTP, for clusters that terminate TLS in front of it.")
	o.webhookGuard = webhookserver.DefaultGuardOptions()
	flag.DurationVar(&o.webhookGuard.SignatureTolerance, "webhook-signature-tolerance", o.webhookGuard.SignatureTolerance,
		"How far a request signature's timestamp may be from this server's clock, either way.")
	flag.IntVar(&o.webhookGuard.MaxConcurrentWrites, "webhook-max-concurrent-writes", o.webhookGuard.MaxConcurrentWrites,
		"API-server writes the courier API makes at once, per replica; one courier may use at most half. Past it, 429.")
	flag.Float64Var(&o.webhookGuard.UnauthenticatedRate, "webhook-unauthenticated-rate", o.webhookGuard.UnauthenticatedRate,
		"Failed authentications per second allowed per client address (bursts of 10); past it every request from the "+
			"address is answered 429 until it recovers.")
	flag.StringVar(&o.trustedProxies, "webhook-trusted-proxies", "",
		"Comma-separated CIDRs of proxies in front of the courier API (e.g. the ingress controller's Pod network); requests "+
			"from them are attributed to the client in X-Forwarded-For. Empty trusts no header.")
	o.notify = notify.DefaultOptions()
	flag.BoolVar(&o.notify.Policy.AllowPrivate, "notification-allow-private-networks", false,
		"Deliver notifications to subscribers at private addresses (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7).")
	flag.BoolVar(&o.notify.Policy.AllowLoopback, "notification-allow-loopback", false,
		"Deliver notifications to subscribers at loopback addresses: for a receiver on a developer's machine (make dev).")
	zapOpts := zap.Options{}
	zapOpts.BindFlags(flag.CommandLine)
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))

	if err := run(ctrl.SetupSignalHandler(), o); err != nil {
		setupLog.Error(err, "manager stopped")
		os.Exit(1)
	}
}

// validate checks the flags, fills in what they parse to, and returns the
// retention settings; it logs a warning for each deprecated flag used.
func (o *options) validate() (retention.Settings, error) {
	settings, deprecated, err := o.retention.Resolve()
	if err != nil {
		return retention.Settings{}, err
	}
	for _, d := range deprecated {
		setupLog.Info("WARNING: a deprecated flag is set; it still works, but will be removed",
			"flag", "--"+d.Flag, "use", "--"+d.Use)
	}
	if o.eventPolicy, err = controllers.ParseEventPolicy(o.events); err != nil {
		return retention.Settings{}, fmt.Errorf("--events: %w", err)
	}
	if o.maxConcurrent < 1 {
		return retention.Settings{}, fmt.Errorf("--max-concurrent-reconciles=%d: want at least 1", o.maxConcurrent)
	}
	if o.stagingGrace <= webhookserver.APITimeout {
		// A shorter grace could delete a file whose update is still being
		// written by the request that staged it.
		return retention.Settings{}, fmt.Errorf("--staging-grace=%s: want more than the courier API's request timeout, %s",
			o.stagingGrace, webhookserver.APITimeout)
	}

	proxies, err := parseCIDRs(o.trustedProxies)
	if err != nil {
		return retention.Settings{}, fmt.Errorf("--webhook-trusted-proxies: %w", err)
	}
	o.webhookGuard.TrustedProxies = proxies
	if o.webhookGuard.MaxConcurrentWrites < 1 {
		return retention.Settings{}, fmt.Errorf("--webhook-max-concurrent-writes=%d: want at least 1", o.webhookGuard.MaxConcurrentWrites)
	}
	if o.webhookGuard.SignatureTolerance <= 0 {
		return retention.Settings{}, fmt.Errorf("--webhook-signature-tolerance=%s: want a positive duration", o.webhookGuard.SignatureTolerance)
	}
	if o.webhookGuard.UnauthenticatedRate <= 0 {
		return retention.Settings{}, fmt.Errorf("--webhook-unauthenticated-rate=%g: want a positive rate", o.webhookGuard.UnauthenticatedRate)
	}
	return settings, nil
}

func run(ctx context.Context, o options) error {
	settings, err := o.validate()
	if err != nil {
		return err
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
		PprofBindAddress:              o.pprofAddr,
		LeaderElection:                o.enableLeaderElection,
		LeaderElectionID:              leaderElectionID,
		LeaderElectionNamespace:       o.leaderElectionNS,
		LeaderElectionReleaseOnCancel: true,
		Cache: cache.Options{
			// managedFields are a large share of a Parcel's bytes and nothing
			// here reads them; Parcels are also compacted (make bench,
			// docs/performance.md).
			DefaultTransform: parcelcache.Transform,
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

	// Events go through a recorder whose memory is bounded whatever their
	// rate (internal/eventrecorder), not mgr.GetEventRecorder.
	recorders, err := eventrecorder.New(ctx, mgr.GetConfig(), mgr.GetHTTPClient(), scheme)
	if err != nil {
		return err
	}
	if err := (&controllers.ParcelReconciler{
		Client:      mgr.GetClient(),
		APIReader:   mgr.GetAPIReader(),
		Recorder:    recorders.Recorder("parcel-controller"),
		Events:      o.eventPolicy,
		Store:       store,
		Transitions: trackingv1alpha1.DefaultTransitions,
		OnDelete:    settings.OnDelete,
		Clock:       clock.RealClock{},
	}).SetupWithManager(mgr, o.maxConcurrent); err != nil {
		return fmt.Errorf("setting up the Parcel controller: %w", err)
	}
	if err := metrics.Registry.Register(&controllers.OverdueCollector{Reader: mgr.GetClient(), Elected: mgr.Elected()}); err != nil {
		return fmt.Errorf("registering the overdue gauge: %w", err)
	}
	if settings.ArchiveAfter > 0 {
		if err := (&controllers.RetentionReconciler{
			Client:       mgr.GetClient(),
			Recorder:     recorders.Recorder("retention-controller"),
			Store:        store,
			Transitions:  trackingv1alpha1.DefaultTransitions,
			ArchiveAfter: settings.ArchiveAfter,
			Clock:        clock.RealClock{},
		}).SetupWithManager(mgr); err != nil {
			return fmt.Errorf("setting up the retention controller: %w", err)
		}
	}
	if err := courierauth.IndexFields(ctx, mgr.GetFieldIndexer()); err != nil {
		return err
	}
	auth := &courierauth.Authenticator{Reader: mgr.GetClient()}
	if err := (&controllers.CourierReconciler{
		Client:   mgr.GetClient(),
		Recorder: mgr.GetEventRecorder("courier-controller"),
		Auth:     auth,
		Clock:    clock.RealClock{},
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
		Guard:       webhookserver.NewGuard(o.webhookGuard),
		CertDir:     o.webhookCertDir,
		EnableHTTP2: o.enableHTTP2,
	}); err != nil {
		return fmt.Errorf("adding the courier API server: %w", err)
	}
	if err := (&staging.Sweeper{
		Client:    mgr.GetClient(),
		APIReader: mgr.GetAPIReader(),
		Store:     store,
		Grace:     o.stagingGrace,
		Clock:     clock.RealClock{},
		Log:       ctrl.Log.WithName("staging-sweeper"),
	}).SetupWithManager(ctx, mgr); err != nil {
		return fmt.Errorf("setting up the staging sweeper: %w", err)
	}

	if err := (&controllers.SubscriptionReconciler{
		Client:    mgr.GetClient(),
		APIReader: mgr.GetAPIReader(),
		Recorder:  mgr.GetEventRecorder("subscription-controller"),
		Notifier: &notify.Notifier{Cache: mgr.GetCache(), Clock: clock.RealClock{}, Log: ctrl.Log.WithName("notifier"),
			Options: o.notify},
		Clock: clock.RealClock{},
	}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up the Subscription controller: %w", err)
	}

	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return fmt.Errorf("adding the health check: %w", err)
	}
	// Ready once the cache has synced: before that no courier token is
	// known and every request would be refused.
	if err := mgr.AddReadyzCheck("cache-synced", func(r *http.Request) error {
		syncCtx, cancel := context.WithTimeout(r.Context(), readyzSyncTimeout)
		defer cancel()
		if !mgr.GetCache().WaitForCacheSync(syncCtx) {
			return errors.New("the cache has not synced yet")
		}
		return nil
	}); err != nil {
		return fmt.Errorf("adding the ready check: %w", err)
	}

	setupLog.Info("starting manager", "podBucket", store.ObjectURL(""), "podFilesOnDelete", settings.OnDelete,
		"archiveAfter", settings.ArchiveAfter)
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

// parseCIDRs parses a comma-separated list of CIDRs; a bare address is a
// single host.
func parseCIDRs(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if addr, err := netip.ParseAddr(item); err == nil {
			out = append(out, netip.PrefixFrom(addr, addr.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(item)
		if err != nil {
			return nil, fmt.Errorf("%q is neither an address nor a CIDR", item)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}
