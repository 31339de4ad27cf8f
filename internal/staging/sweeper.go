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

// Package staging sweeps the proof-of-delivery staging area: the Sweeper
// deletes staged files no Parcel needs, and counts what it did.
package staging

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
	"github.com/parcelops/parcel-operator/internal/podstore"
)

// pendingStagingKeyIndex indexes Parcels by the staging keys of their
// proof-of-delivery files not stored yet, so a sweep asks the cache about
// one key instead of scanning every Parcel.
const pendingStagingKeyIndex = "tracking.parcelops.io/pending-staging-key"

// Sweep pacing: a sweep every quarter of the grace period, so an orphan
// lives at most 1.25 grace periods, but never more often than once a
// second nor less often than every ten minutes.
const (
	minSweepInterval = time.Second
	maxSweepInterval = 10 * time.Minute
)

// parcelListPage bounds one page of the API server list a sweep makes to
// confirm that no Parcel names a file it is about to delete.
const parcelListPage = 500

// Sweep results, the values of the result label.
const (
	sweepOK    = "ok"
	sweepError = "error"
)

var (
	stagingSweeps = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "parcel_staging_sweeps_total",
		Help: "Sweeps of the proof-of-delivery staging area, by result.",
	}, []string{"result"})
	stagingSwept = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "parcel_staging_swept_total",
		Help: "Staged proof-of-delivery files deleted because no Parcel needs them.",
	})
	staleUploadsAborted = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "parcel_stale_uploads_aborted_total",
		Help: "Unfinished multipart uploads of proof-of-delivery files, left by a killed writer, aborted.",
	})
)

func init() {
	metrics.Registry.MustRegister(stagingSweeps, stagingSwept, staleUploadsAborted)
}

// Sweeper deletes staged proof-of-delivery files that no Parcel
// needs: uploads whose update never reached the API server (the courier
// gave up after a 503, or the replica died between staging and writing),
// and copies staged again for an event whose file is already stored (a
// retry the webhook's cache did not recognise). It runs on the leader only.
//
// Each sweep also aborts the unfinished multipart uploads older than Grace
// that a writer killed mid-file left in an S3 bucket.
//
// A staged file is kept while it is younger than Grace, which must exceed
// the longest time the webhook takes from staging a file to writing its
// event; and while any Parcel event names it without the file being listed
// in that Parcel's status. The manager's cache answers first; a file the
// cache says is unneeded is deleted only after the API server agrees, so a
// lagging cache (an API server restart, a write another replica made) never
// costs a proof of delivery.
type Sweeper struct {
	// Client reads Parcels from the manager's cache.
	Client client.Client
	// APIReader lists Parcels from the API server itself.
	APIReader client.Reader
	// Store holds the proof-of-delivery files.
	Store *podstore.Store
	// Grace is the age below which a staged file is never deleted.
	Grace time.Duration
	// Interval is the time between sweeps; zero derives it from Grace.
	Interval time.Duration
	// Clock tells the time the grace period is measured against.
	Clock clock.PassiveClock
	// Log receives what each sweep deleted and why a sweep failed.
	Log logr.Logger
}

// SetupWithManager adds the cache index the sweeper reads and the sweeper
// itself, as a Runnable that runs on the elected leader.
func (s *Sweeper) SetupWithManager(ctx context.Context, mgr ctrl.Manager) error {
	if err := mgr.GetFieldIndexer().IndexField(ctx, &trackingv1alpha1.Parcel{}, pendingStagingKeyIndex,
		func(obj client.Object) []string {
			parcel, ok := obj.(*trackingv1alpha1.Parcel)
			if !ok {
				return nil
			}
			return pendingStagingKeys(parcel)
		}); err != nil {
		return fmt.Errorf("indexing Parcels by pending staging key: %w", err)
	}
	return mgr.Add(s)
}

// NeedLeaderElection keeps sweeps on the leader: one sweeper per cluster.
func (s *Sweeper) NeedLeaderElection() bool {
	return true
}

// Start sweeps at once, then every interval until ctx ends. A failed sweep
// is logged and counted; the next one tries again.
func (s *Sweeper) Start(ctx context.Context) error {
	interval := s.interval()
	s.Log.Info("sweeping the proof-of-delivery staging area", "grace", s.Grace, "interval", interval)
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		if _, err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
			s.Log.Error(err, "sweeping the proof-of-delivery staging area")
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
	}
}

func (s *Sweeper) interval() time.Duration {
	if s.Interval > 0 {
		return s.Interval
	}
	return min(max(s.Grace/4, minSweepInterval), maxSweepInterval)
}

// Sweep deletes the staged files older than the grace period that no
// Parcel needs, and returns how many it deleted; then it aborts the stale
// multipart uploads. It carries on past a
// failure with one file or namespace and returns the failures joined.
func (s *Sweeper) Sweep(ctx context.Context) (int, error) {
	cutoff := s.Clock.Now().Add(-s.Grace)
	staged, err := s.Store.ListStaged(ctx, cutoff)
	if err != nil {
		stagingSweeps.WithLabelValues(sweepError).Inc()
		return 0, err
	}

	var errs []error
	unneeded := map[string][]podstore.StagedObject{}
	for _, obj := range staged {
		needed, err := s.neededInCache(ctx, obj)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !needed {
			unneeded[obj.Namespace] = append(unneeded[obj.Namespace], obj)
		}
	}

	deleted := 0
	for namespace, objs := range unneeded {
		pending, err := s.pendingInAPIServer(ctx, namespace)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, obj := range objs {
			if pending[obj.Key] {
				continue
			}
			ok, err := s.Store.DeleteStaged(ctx, obj.Key)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if ok {
				deleted++
				stagingSwept.Inc()
				s.Log.Info("deleted a staged proof-of-delivery file no Parcel needs",
					"key", obj.Key, "stagedAt", obj.ModTime)
			}
		}
	}

	aborted, err := s.Store.AbortStaleUploads(ctx, cutoff)
	if err != nil {
		errs = append(errs, err)
	}
	if aborted > 0 {
		staleUploadsAborted.Add(float64(aborted))
		s.Log.Info("aborted unfinished multipart uploads a killed writer left", "count", aborted)
	}

	if len(errs) > 0 {
		stagingSweeps.WithLabelValues(sweepError).Inc()
		return deleted, errors.Join(errs...)
	}
	stagingSweeps.WithLabelValues(sweepOK).Inc()
	return deleted, nil
}

// neededInCache reports whether a Parcel in the manager's cache still needs
// the staged file.
func (s *Sweeper) neededInCache(ctx context.Context, obj podstore.StagedObject) (bool, error) {
	parcels := &trackingv1alpha1.ParcelList{}
	if err := s.Client.List(ctx, parcels, client.InNamespace(obj.Namespace),
		client.MatchingFields{pendingStagingKeyIndex: obj.Key}); err != nil {
		return false, fmt.Errorf("looking up the Parcels that name %s: %w", obj.Key, err)
	}
	return len(parcels.Items) > 0, nil
}

// pendingInAPIServer lists a namespace's Parcels from the API server and
// returns the staging keys they still need.
func (s *Sweeper) pendingInAPIServer(ctx context.Context, namespace string) (map[string]bool, error) {
	pending := map[string]bool{}
	parcels := &trackingv1alpha1.ParcelList{}
	for {
		if err := s.APIReader.List(ctx, parcels, client.InNamespace(namespace),
			client.Limit(parcelListPage), client.Continue(parcels.Continue)); err != nil {
			return nil, fmt.Errorf("listing the Parcels of namespace %s: %w", namespace, err)
		}
		for i := range parcels.Items {
			for _, key := range pendingStagingKeys(&parcels.Items[i]) {
				pending[key] = true
			}
		}
		if parcels.Continue == "" {
			return pending, nil
		}
	}
}

// pendingStagingKeys returns the staging keys of a Parcel's
// proof-of-delivery files that its status does not list as stored yet.
// Only the file that proves an event counts (trackingv1alpha1.Proofs: the
// first file recorded with its id, which may have come with a repeat of the
// event), as for the reconciler, which never moves any other. Once a file
// is stored, its staged copy is garbage: the reconciler deletes it on the
// way, and a copy staged again by a retry is never read.
func pendingStagingKeys(p *trackingv1alpha1.Parcel) []string {
	stored := make(map[string]bool, len(p.Status.ProofOfDelivery))
	for _, s := range p.Status.ProofOfDelivery {
		stored[s.EventID] = true
	}
	var keys []string
	for id, i := range trackingv1alpha1.Proofs(p.Spec.Events) {
		if !stored[id] {
			keys = append(keys, p.Spec.Events[i].ProofOfDelivery.StagingKey)
		}
	}
	return keys
}
