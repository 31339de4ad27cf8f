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
	"errors"
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
)

// testBackoff waits Base/2 after the first failure with no jitter: 1 s,
// then 2 s, 4 s.
var testBackoff = Backoff{Base: 2 * time.Second, Max: time.Minute}

// failingSubscriber is a configured subscriber of four concurrent
// attempts with one notification queued for each of parcels parcels.
func failingSubscriber(t *testing.T, clk *clocktesting.FakeClock, parcels int) *subscriber {
	t.Helper()
	n := &Notifier{Clock: clk, Options: Options{Concurrency: 4, QueueLimit: 100, Backoff: testBackoff,
		Margin: 10 * time.Second, Tick: 5 * time.Second}, Jitter: func() float64 { return 0 }}
	sub := &trackingv1alpha1.Subscription{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "orders", UID: "sub-uid", Generation: 1,
			CreationTimestamp: metav1.NewTime(clk.Now().Add(-time.Hour))},
		Spec: trackingv1alpha1.SubscriptionSpec{URL: "http://127.0.0.1:9/hooks"},
	}
	f, err := newFilter(sub)
	if err != nil {
		t.Fatal(err)
	}
	s := newSubscriber(n, types.NamespacedName{Namespace: "shop", Name: "orders"}, sub)
	s.configure(sub, f, &Endpoint{URL: sub.Spec.URL, Timeout: time.Second})
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range parcels {
		it := &item{Notification: Notification{Type: trackingv1alpha1.NotificationStatusChanged,
			ParcelUID: types.UID(fmt.Sprintf("parcel-%d", i)), Event: trackingv1alpha1.TrackingEvent{ID: "e1"},
			RecordedAt: clk.Now()}, since: clk.Now()}
		if !s.enqueue(it) {
			t.Fatalf("parcel %d: not queued", i)
		}
	}
	return s
}

// take starts the next attempt, or returns nil and the wait.
func take(s *subscriber) (*item, time.Duration) {
	it, _, _, wait, _ := s.next()
	return it, wait
}

var errRefused = errors.New("dial tcp 127.0.0.1:9: connect: connection refused")

// TestPauseAfterConcurrentFailures: when a receiver goes away every
// attempt in flight fails. The pause is the first failure's, not the
// fourth's, and lengthens one step per failed probe.
func TestPauseAfterConcurrentFailures(t *testing.T) {
	cases := []struct {
		name string
		// retryAfter of each of the four failed attempts, in the order
		// they end.
		retryAfter [4]time.Duration
		wantPause  time.Duration
	}{
		{name: "no Retry-After: the first failure's backoff", wantPause: time.Second},
		{name: "the first failure's Retry-After", retryAfter: [4]time.Duration{5 * time.Second}, wantPause: 5 * time.Second},
		{name: "a later failure's longer Retry-After still holds", retryAfter: [4]time.Duration{0, 0, 9 * time.Second, 3 * time.Second},
			wantPause: 9 * time.Second},
		{name: "a later failure's shorter Retry-After does not shorten the pause",
			retryAfter: [4]time.Duration{0, 0, 0, 500 * time.Millisecond}, wantPause: time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clk := clocktesting.NewFakeClock(time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC))
			s := failingSubscriber(t, clk, 6)
			var inFlight []*item
			for range 4 {
				it, _ := take(s)
				if it == nil || it.probe {
					t.Fatalf("attempt %d before any failure: got %+v, want a plain attempt", len(inFlight)+1, it)
				}
				inFlight = append(inFlight, it)
			}
			for i, it := range inFlight {
				s.finish(it, result{err: errRefused, retry: true, retryAfter: tc.retryAfter[i]})
			}
			if s.failures != 1 {
				t.Errorf("failures = %d after four concurrent failures, want 1", s.failures)
			}
			if it, wait := take(s); it != nil || wait != tc.wantPause {
				t.Errorf("next attempt: %v after %s, want none for %s", it, wait, tc.wantPause)
			}
		})
	}
}

// TestOneProbeAtATime: after the pause one attempt probes the receiver; an
// attempt from before the failure that ends meanwhile does not let a
// second probe start, each failed probe doubles the pause, and the answer
// to a probe lets every worker send again.
func TestOneProbeAtATime(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC))
	s := failingSubscriber(t, clk, 6)
	first, _ := take(s)
	late, _ := take(s)
	s.finish(first, result{err: errRefused, retry: true})

	clk.Step(time.Second)
	probe, _ := take(s)
	if probe == nil || !probe.probe {
		t.Fatalf("after the pause: %+v, want a probe", probe)
	}
	if it, _ := take(s); it != nil {
		t.Fatalf("a second attempt started beside the probe: %+v", it)
	}
	s.finish(late, result{err: errRefused, retry: true})
	if it, _ := take(s); it != nil {
		t.Fatalf("an attempt from before the failure ended, and a second probe started: %+v", it)
	}
	if s.failures != 1 {
		t.Errorf("failures = %d, want 1: only the first failure and failed probes count", s.failures)
	}

	s.finish(probe, result{err: errRefused, retry: true})
	if s.failures != 2 {
		t.Errorf("failures = %d after a failed probe, want 2", s.failures)
	}
	if it, wait := take(s); it != nil || wait != 2*time.Second {
		t.Errorf("after the failed probe: %v, next in %s; want none for 2s", it, wait)
	}

	clk.Step(2 * time.Second)
	probe, _ = take(s)
	if probe == nil || !probe.probe {
		t.Fatalf("after the second pause: %+v, want a probe", probe)
	}
	s.finish(probe, result{code: 204})
	if s.failures != 0 || s.stats.State != StateAnswering {
		t.Errorf("after an answered probe: failures %d, state %s; want 0, %s", s.failures, s.stats.State, StateAnswering)
	}
	for i := range 4 {
		if it, _ := take(s); it == nil || it.probe {
			t.Fatalf("attempt %d after the answer: %+v, want a plain attempt", i+1, it)
		}
	}
}

// TestFirstScanTakesWhatFollowsTheCreation: a subscriber configured after
// a Parcel's update finds it in its first scan of the cache. What was
// recorded in the second the Subscription was created, or a little before
// it by the leader's clock, is queued; a checkpoint, once written, is
// where the scan starts instead.
func TestFirstScanTakesWhatFollowsTheCreation(t *testing.T) {
	created := time.Date(2026, 12, 2, 13, 51, 53, 0, time.UTC)
	checkpoint := created.Add(time.Minute)
	cases := []struct {
		name       string
		checkpoint *time.Time
		recorded   time.Time
		want       bool
	}{
		{name: "recorded in the creation's second", recorded: created, want: true},
		{name: "recorded after the creation", recorded: created.Add(3 * time.Second), want: true},
		{name: "recorded within the margin before the creation", recorded: created.Add(-9 * time.Second), want: true},
		{name: "recorded before the margin", recorded: created.Add(-10 * time.Second), want: false},
		{name: "recorded at the checkpoint", checkpoint: &checkpoint, recorded: checkpoint, want: false},
		{name: "recorded after the checkpoint", checkpoint: &checkpoint, recorded: checkpoint.Add(time.Second), want: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clk := clocktesting.NewFakeClock(created.Add(2 * time.Second))
			n := &Notifier{Clock: clk, Options: DefaultOptions()}
			sub := &trackingv1alpha1.Subscription{
				ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "orders", UID: "sub-uid", Generation: 1,
					CreationTimestamp: metav1.NewTime(created)},
				Spec: trackingv1alpha1.SubscriptionSpec{URL: "http://127.0.0.1:9/hooks"},
			}
			if tc.checkpoint != nil {
				sub.Status.Checkpoint = &metav1.Time{Time: *tc.checkpoint}
			}
			f, err := newFilter(sub)
			if err != nil {
				t.Fatal(err)
			}
			s := newSubscriber(n, types.NamespacedName{Namespace: "shop", Name: "orders"}, sub)
			s.configure(sub, f, &Endpoint{URL: sub.Spec.URL, Timeout: time.Second})
			recorded := metav1.NewTime(tc.recorded)
			p := &trackingv1alpha1.Parcel{
				ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "ne000001", UID: "parcel-uid"},
				Spec: trackingv1alpha1.ParcelSpec{ArticleID: "NE000001", Events: []trackingv1alpha1.TrackingEvent{
					{ID: "e1", Status: trackingv1alpha1.StatusReceivedInDepot}}},
				Status: trackingv1alpha1.ParcelStatus{History: []trackingv1alpha1.EventVerdict{
					{ID: "e1", Result: trackingv1alpha1.ResultApplied, RecordedAt: &recorded}}},
			}
			// The first scan offers what the cache holds, with no previous
			// version.
			s.offer(p, Notifications(p), nil)
			if got := s.pending == 1; got != tc.want {
				t.Errorf("queued = %v (watermark %s), want %v", got, s.watermark.Format(time.TimeOnly), tc.want)
			}
		})
	}
}
