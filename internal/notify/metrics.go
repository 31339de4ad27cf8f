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

package notify

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// subscriptionLabel names a subscription, as namespace/name.
const subscriptionLabel = "subscription"

// Results of the deliveries metric.
const (
	resultDelivered = "delivered"
	resultRetry     = "retry"
	resultFailed    = "failed"
	resultDropped   = "dropped"
)

var (
	deliveries = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "parcel_notification_deliveries_total",
		Help: "Notification delivery attempts by subscription (namespace/name) and result: delivered, retry " +
			"(failed, tried again), failed (refused for good) or dropped (given up after the retry window).",
	}, []string{subscriptionLabel, "result"})
	deliveryDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "parcel_notification_delivery_duration_seconds",
		Help:    "Time of one notification delivery attempt, by subscription.",
		Buckets: prometheus.ExponentialBuckets(0.005, 2, 13),
	}, []string{subscriptionLabel})
	backlogGauge = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "parcel_notification_backlog",
		Help: "Notifications queued in memory for a subscription, waiting to be delivered.",
	}, []string{subscriptionLabel})
)

func init() {
	metrics.Registry.MustRegister(deliveries, deliveryDuration, backlogGauge)
}

func observeAttempt(name types.NamespacedName, r result, d time.Duration) {
	label := name.String()
	deliveryDuration.WithLabelValues(label).Observe(d.Seconds())
	switch {
	case r.err == nil:
		deliveries.WithLabelValues(label, resultDelivered).Inc()
	case r.retry:
		deliveries.WithLabelValues(label, resultRetry).Inc()
	default:
		deliveries.WithLabelValues(label, resultFailed).Inc()
	}
}

func countDropped(name types.NamespacedName, n int) {
	deliveries.WithLabelValues(name.String(), resultDropped).Add(float64(n))
}

func setBacklog(name types.NamespacedName, n int) {
	backlogGauge.WithLabelValues(name.String()).Set(float64(n))
}

// forgetMetrics drops a removed subscription's series.
func forgetMetrics(name types.NamespacedName) {
	label := prometheus.Labels{subscriptionLabel: name.String()}
	deliveries.DeletePartialMatch(label)
	deliveryDuration.DeletePartialMatch(label)
	backlogGauge.DeletePartialMatch(label)
}
