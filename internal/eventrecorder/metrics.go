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

package eventrecorder

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/tools/record"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// Results of the writes metric.
const (
	writeCreated = "created"
	writePatched = "patched"
	writeUpdated = "updated"
	writeError   = "error"
)

// What is recorded and what reaches the API server are counted apart:
// client-go's broadcaster merges repeats (one write counts them), and
// writes Events one at a time, so past what the API server takes at its
// latency its queue of about 1,000 fills and it drops the rest. The gap
// between the two counters is what was merged or dropped.
var (
	recorded = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "parcel_kube_events_recorded_total",
		Help: "Kubernetes Events the Parcel and retention controllers recorded, by type (Normal, Warning), before " +
			"client-go's broadcaster merges repeats or drops what its queue of about 1,000 cannot hold.",
	}, []string{"type"})
	writes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "parcel_kube_event_writes_total",
		Help: "Event writes to the API server, by result: created, patched or updated (a repeat's count), error " +
			"(retried up to 12 times, 10 s apart, while the others wait).",
	}, []string{"result"})
	writeDuration = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "parcel_kube_event_write_duration_seconds",
		Help: "Time of one Event write; Events are written one at a time, so at most one per this long.",
		// 1 ms to about 4 s.
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 13),
	})
)

func init() {
	metrics.Registry.MustRegister(recorded, writes, writeDuration)
	// Every series from the start, so a rate is never missing a side.
	for _, t := range []string{corev1.EventTypeNormal, corev1.EventTypeWarning} {
		recorded.WithLabelValues(t)
	}
	for _, r := range []string{writeCreated, writePatched, writeUpdated, writeError} {
		writes.WithLabelValues(r)
	}
}

// countingRecorder counts what a controller records.
type countingRecorder struct{ events.EventRecorder }

func (r countingRecorder) Eventf(regarding, related runtime.Object, eventtype, reason, action, note string, args ...any) {
	recorded.WithLabelValues(eventtype).Inc()
	r.EventRecorder.Eventf(regarding, related, eventtype, reason, action, note, args...)
}

// countingSink counts and times the writes to the API server.
type countingSink struct{ sink record.EventSink }

func (s countingSink) Create(e *corev1.Event) (*corev1.Event, error) {
	return observe(writeCreated, func() (*corev1.Event, error) { return s.sink.Create(e) })
}

func (s countingSink) Update(e *corev1.Event) (*corev1.Event, error) {
	return observe(writeUpdated, func() (*corev1.Event, error) { return s.sink.Update(e) })
}

func (s countingSink) Patch(e *corev1.Event, data []byte) (*corev1.Event, error) {
	return observe(writePatched, func() (*corev1.Event, error) { return s.sink.Patch(e, data) })
}

func observe(result string, write func() (*corev1.Event, error)) (*corev1.Event, error) {
	start := time.Now()
	e, err := write()
	writeDuration.Observe(time.Since(start).Seconds())
	if err != nil {
		result = writeError
	}
	writes.WithLabelValues(result).Inc()
	return e, err
}
