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
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// POD move results, the values of the result label.
const (
	moveStored             = "stored"
	moveStoreUnavailable   = "store_unavailable"
	moveVerificationFailed = "verification_failed"
	moveStagedMissing      = "staged_missing"
	moveInvalid            = "invalid"
)

// Archive failure reasons, the values of the reason label.
const (
	archiveFailedStore    = "store"
	archiveFailedConflict = "conflict"
	archiveFailedAPI      = "api"
)

// The reconciler's metrics. Labels stay low-cardinality: statuses and
// results, never article IDs or namespaces.
var (
	transitionsApplied = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "parcel_transitions_applied_total",
		Help: "Status transitions newly applied by the fold, by from and to status.",
	}, []string{"from", "to"})
	transitionsRejected = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "parcel_transitions_rejected_total",
		Help: "Events newly rejected by the fold, by the parcel's status and the refused status.",
	}, []string{"from", "to"})
	staleCopies = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "parcel_status_write_conflicts_total",
		Help: "Parcel writes refused because the copy they were computed from was older than the server's (the cache " +
			"lagging, or an append landing meanwhile); each is redone once on a copy read from the API server.",
	})
	podMoves = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "parcel_pod_moves_total",
		Help: "Attempts to move a staged proof-of-delivery file to its final place, by result.",
	}, []string{"result"})
	podBytesStored = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "parcel_pod_stored_bytes_total",
		Help: "Bytes of proof-of-delivery files stored and verified.",
	})
	podMoveDuration = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "parcel_pod_move_duration_seconds",
		Help:    "Time to verify and store one proof-of-delivery file.",
		Buckets: prometheus.ExponentialBuckets(0.005, 2, 12),
	})
	parcelsArchived = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "parcel_archived_total",
		Help: "Terminal parcels past their retention archived to the bucket and deleted.",
	})
	archiveFailures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "parcel_archive_failures_total",
		Help: "Failed attempts to archive and delete a parcel, by reason: store (write or read-back), conflict (changed since archived), api.",
	}, []string{"reason"})
)

func init() {
	metrics.Registry.MustRegister(transitionsApplied, transitionsRejected, staleCopies, podMoves, podBytesStored, podMoveDuration,
		parcelsArchived, archiveFailures)
}
