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
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// unauthenticatedLabel is the courier label of requests nobody could be
// attributed to.
const unauthenticatedLabel = "-"

// labelCourier is the label naming the courier (namespace/name) on every
// metric.
const labelCourier = "courier"

// The webhook's metrics. The courier label is the Courier's
// namespace/name; article IDs, tokens and file names never become labels.
var (
	requestsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "parcel_webhook_requests_total",
		Help: "Courier API requests answered, by courier and HTTP status code.",
	}, []string{labelCourier, "code"})
	requestDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "parcel_webhook_request_duration_seconds",
		Help:    "Time to answer a courier API request, by courier.",
		Buckets: prometheus.ExponentialBuckets(0.002, 2, 13),
	}, []string{labelCourier})
	updatesTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "parcel_webhook_updates_total",
		Help: "Tracking updates recorded, by courier and result (applied, unchanged, duplicate, rejected).",
	}, []string{labelCourier, "result"})
	podBytesStaged = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "parcel_webhook_pod_staged_bytes_total",
		Help: "Bytes of proof-of-delivery files staged, by courier.",
	}, []string{labelCourier})
	refusalsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "parcel_webhook_refusals_total",
		Help: "Requests refused by an admission limit, by courier and limit " +
			"(client-rate, courier-rate, writes-busy, signature, replay-memory-full).",
	}, []string{labelCourier, "limit"})
	eventLag = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "parcel_webhook_event_lag_seconds",
		Help:    "Time from an update's track_datetime to its being recorded, by courier.",
		Buckets: []float64{1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 24 * 3600, 7 * 24 * 3600},
	}, []string{labelCourier})
)

func init() {
	metrics.Registry.MustRegister(requestsTotal, requestDuration, updatesTotal, podBytesStaged, refusalsTotal, eventLag)
}
