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
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
)

// counts reads the Event metrics, to compare before and after.
type counts struct{ normal, warning, created, patched, errors float64 }

func readCounts() counts {
	return counts{
		normal:  testutil.ToFloat64(recorded.WithLabelValues(corev1.EventTypeNormal)),
		warning: testutil.ToFloat64(recorded.WithLabelValues(corev1.EventTypeWarning)),
		created: testutil.ToFloat64(writes.WithLabelValues(writeCreated)),
		patched: testutil.ToFloat64(writes.WithLabelValues(writePatched)),
		errors:  testutil.ToFloat64(writes.WithLabelValues(writeError)),
	}
}

func (c counts) minus(o counts) counts {
	return counts{c.normal - o.normal, c.warning - o.warning, c.created - o.created, c.patched - o.patched, c.errors - o.errors}
}

func pod(i int) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{
		Namespace: "acme", Name: fmt.Sprintf("arp%010d", i), UID: types.UID(fmt.Sprintf("uid-%d", i)),
	}}
}

// TestMetricsCountRecordedAndWritten: every Event recorded counts once by
// type; a new one is a create, a repeat of the same message on the same
// object a patch of its count.
func TestMetricsCountRecordedAndWritten(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sink := &acceptingSink{}
	rec := start(ctx, sink, clientgoscheme.Scheme).Recorder("parcel-controller")
	before := readCounts()
	for i := range 10 {
		rec.Eventf(pod(i), nil, corev1.EventTypeNormal, "StatusChanged", "Transition", "Received in Depot (scan %d)", i)
	}
	rec.Eventf(pod(0), nil, corev1.EventTypeNormal, "StatusChanged", "Transition", "Received in Depot (scan %d)", 0)
	rec.Eventf(pod(1), nil, corev1.EventTypeWarning, "TransitionRejected", "Transition", "Delivered before Received")
	// The sink counts a write before the metric does: wait for the metric.
	waitFor(t, "12 writes counted", func() bool {
		c := readCounts().minus(before)
		return c.created+c.patched >= 12
	})
	got := readCounts().minus(before)
	want := counts{normal: 11, warning: 1, created: 11, patched: 1}
	if got != want {
		t.Errorf("metrics moved by %+v, want %+v", got, want)
	}
}

// refusingSink refuses every Event as invalid: client-go gives up on it at
// once, without the 10 s sleeps of a retry.
type refusingSink struct{ acceptingSink }

func (s *refusingSink) Create(*corev1.Event) (*corev1.Event, error) {
	return nil, apierrors.NewBadRequest("event is invalid")
}

// TestMetricsCountRefusedWrites: a write the API server refuses is an
// error, not a create.
func TestMetricsCountRefusedWrites(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sink := &refusingSink{}
	rec := start(ctx, sink, clientgoscheme.Scheme).Recorder("parcel-controller")
	before := readCounts()
	rec.Eventf(pod(0), nil, corev1.EventTypeWarning, "ProofOfDeliveryFailed", "Reconcile", "store unavailable")
	waitFor(t, "the refused write counted", func() bool { return readCounts().minus(before).errors == 1 })
	if got := readCounts().minus(before); got.created != 0 || got.warning != 1 {
		t.Errorf("metrics moved by %+v, want one Warning recorded and no create", got)
	}
}

// blockingSink holds every write until released, as an API server too slow
// for the Event rate.
type blockingSink struct {
	acceptingSink
	release chan struct{}
}

func (s *blockingSink) Create(e *corev1.Event) (*corev1.Event, error) {
	<-s.release
	return e, nil
}

// TestDroppedEventsShowAsTheGap: while the API server cannot keep up,
// client-go's broadcaster queues about 1,000 Events and drops the rest
// without blocking the caller. What was dropped is the gap between the
// recorded and the written count.
func TestDroppedEventsShowAsTheGap(t *testing.T) {
	const total = 2100
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sink := &blockingSink{release: make(chan struct{})}
	rec := start(ctx, sink, clientgoscheme.Scheme).Recorder("parcel-controller")
	before := readCounts()
	for i := range total {
		rec.Eventf(pod(i), nil, corev1.EventTypeNormal, "StatusChanged", "Transition", "Received in Depot (scan %d)", i)
	}
	close(sink.release)
	// Everything queued is written; then nothing more comes.
	var last float64
	waitFor(t, "the queue written out", func() bool {
		now := readCounts().minus(before).created
		settled := now > 0 && now == last
		last = now
		time.Sleep(50 * time.Millisecond)
		return settled
	})
	got := readCounts().minus(before)
	if got.normal != total {
		t.Errorf("recorded %v, want %d: every call counts, dropped or not", got.normal, total)
	}
	if got.created >= total || got.created < 1000 {
		t.Errorf("written %v of %d; want at least the queue of 1,000 and fewer than all", got.created, total)
	}
	t.Logf("recorded %v, written %v: %v dropped while the sink was blocked", got.normal, got.created, got.normal-got.created)
}
