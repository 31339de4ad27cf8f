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
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/events"
)

// acceptingSink stands for the API server: it takes every Event and counts
// it. Only the recorder's own memory is measured, so nothing is kept.
type acceptingSink struct{ sent atomic.Int64 }

// The core/v1 sink of tools/record.
func (s *acceptingSink) Create(e *corev1.Event) (*corev1.Event, error) { s.sent.Add(1); return e, nil }
func (s *acceptingSink) Update(e *corev1.Event) (*corev1.Event, error) { s.sent.Add(1); return e, nil }
func (s *acceptingSink) Patch(e *corev1.Event, _ []byte) (*corev1.Event, error) {
	s.sent.Add(1)
	return e, nil
}

// eventsSink is the events.k8s.io sink of tools/events, over the same count.
type eventsSink struct{ *acceptingSink }

func (s eventsSink) Create(_ context.Context, e *eventsv1.Event) (*eventsv1.Event, error) {
	s.sent.Add(1)
	return e, nil
}
func (s eventsSink) Update(_ context.Context, e *eventsv1.Event) (*eventsv1.Event, error) {
	s.sent.Add(1)
	return e, nil
}
func (s eventsSink) Patch(_ context.Context, e *eventsv1.Event, _ []byte) (*eventsv1.Event, error) {
	s.sent.Add(1)
	return e, nil
}

// heap returns the bytes of live objects after a collection.
func heap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// emit records one Event on each of n distinct Pods (a Pod stands for a
// Parcel: a built-in kind the scheme knows), numbered from first, at the
// pace the sink takes them: both broadcasters drop Events while their
// queue of 1,000 is full.
func emit(t *testing.T, rec events.EventRecorder, sink *acceptingSink, first, n int) {
	t.Helper()
	for i := first; i < first+n; i++ {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{
			Namespace: "acme", Name: fmt.Sprintf("arp%010d", i), UID: types.UID(fmt.Sprintf("uid-%d", i)),
		}}
		rec.Eventf(pod, nil, corev1.EventTypeNormal, "StatusChanged", "Transition",
			"Received in Depot -> Loaded by Driver -> In Transit (scan %d)", i)
		if (i+1)%500 == 0 {
			waitSent(t, sink, int64(i+1))
		}
	}
	waitSent(t, sink, int64(first+n))
}

func waitSent(t *testing.T, sink *acceptingSink, want int64) {
	t.Helper()
	if !poll(func() bool { return sink.sent.Load() >= want }) {
		t.Fatalf("%d of %d Events reached the sink", sink.sent.Load(), want)
	}
}

// poll reports whether done held within a minute.
func poll(done func() bool) bool {
	deadline := time.Now().Add(time.Minute)
	for !done() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(time.Millisecond)
	}
	return true
}

// waitFor fails the test unless done holds within a minute.
func waitFor(t *testing.T, what string, done func() bool) {
	t.Helper()
	if !poll(done) {
		t.Fatalf("%s: not within a minute", what)
	}
}

// TestMemoryStaysBounded records 50,000 Events on distinct objects through
// this package's recorder and through client-go's events.k8s.io
// broadcaster (what mgr.GetEventRecorder uses), side by side, and
// compares the heap each leaves behind. Ours must stop growing once its
// LRU caches are full (CacheSize entries); the other is reported.
func TestMemoryStaysBounded(t *testing.T) {
	const (
		warm  = 10_000
		total = 50_000
		// slack allows for the runtime's own noise between two readings.
		slack = 2 << 20
	)

	ctx, cancel := context.WithCancel(context.Background())
	sink := &acceptingSink{}
	ours := start(ctx, sink, clientgoscheme.Scheme)
	rec := ours.Recorder("parcel-controller")
	base := heap()
	emit(t, rec, sink, 0, warm)
	afterWarm := heap()
	emit(t, rec, sink, warm, total-warm)
	afterTotal := heap()
	cancel()
	t.Logf("core/v1 recorder (internal/eventrecorder): heap +%.1f MiB after %d Events, +%.1f MiB after %d",
		mib(afterWarm, base), warm, mib(afterTotal, base), total)
	if afterTotal > afterWarm+slack {
		t.Errorf("heap grew by %.1f MiB between %d and %d Events; want it flat once the LRU caches are full",
			mib(afterTotal, afterWarm), warm, total)
	}

	sink = &acceptingSink{}
	theirs := events.NewBroadcaster(eventsSink{sink})
	theirsCtx, stop := context.WithCancel(context.Background())
	defer stop()
	if err := theirs.StartRecordingToSinkWithContext(theirsCtx); err != nil {
		t.Fatal(err)
	}
	defer theirs.Shutdown()
	base = heap()
	emit(t, theirs.NewRecorder(clientgoscheme.Scheme, "parcel-controller"), sink, 0, total)
	t.Logf("events.k8s.io broadcaster (mgr.GetEventRecorder): heap +%.1f MiB after %d Events", mib(heap(), base), total)
}

func mib(after, before uint64) float64 {
	return (float64(after) - float64(before)) / (1 << 20)
}
