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
	"context"
	"errors"
	"net/http"
	"reflect"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
)

// State is how delivery to a subscriber goes.
type State string

// The states of a subscriber.
const (
	// StateAnswering: the last attempt was answered (or none was made).
	StateAnswering State = "Answering"
	// StateFailing: the last attempts failed and are being retried.
	StateFailing State = "Failing"
	// StateRefused: the endpoint resolves to an address the policy refuses.
	StateRefused State = "Refused"
	// StateWindowExceeded: notifications were dropped after the retry
	// window; the next answer moves back to StateAnswering.
	StateWindowExceeded State = "WindowExceeded"
)

// Stats is what a subscriber did, for its Subscription's status. The counts
// start from those the status held when the subscriber was created.
type Stats struct {
	Delivered, Failed, Dropped int64
	Backlog                    int64
	LastDelivery               time.Time
	LastCode                   int
	LastError                  string
	// LastRefusal says why the last notification refused for good was.
	LastRefusal string
	State       State
	// Checkpoint: every notification recorded at or before it is handled.
	Checkpoint time.Time
	// ResendDone is the token of the last resend fully handled.
	ResendDone string
}

// item is a queued notification.
type item struct {
	Notification
	// since starts its retry window: when it was recorded, or when a
	// resend of it was asked for.
	since  time.Time
	resend bool
	// probe is set while it is the one attempt that probes a failing
	// subscriber.
	probe bool
}

// parcelQueue holds one parcel's notifications, sent one at a time in
// order.
type parcelQueue struct {
	items []*item
	// busy is set while the head is being sent.
	busy bool
}

// subscriber is the delivery state of one Subscription.
type subscriber struct {
	n    *Notifier
	name types.NamespacedName
	uid  types.UID

	mu         sync.Mutex
	generation int64
	filter     filter
	endpoint   *Endpoint
	client     *http.Client
	window     time.Duration
	suspended  bool

	// watermark: every notification recorded at or before it is handled.
	watermark time.Time
	queues    map[types.UID]*parcelQueue
	// ready lists the parcels whose head may be sent, oldest first.
	ready   []types.UID
	pending int
	// known holds what is queued; handled what was delivered, refused or
	// dropped after the watermark, so a rescan does not queue it again.
	known   map[key]struct{}
	handled map[key]time.Time
	// overflow is set once a notification was not queued for lack of
	// room; floor is the earliest such one's recordedAt.
	overflow bool
	floor    time.Time
	// failures counts consecutive failures: the first, then each failed
	// probe. While there are any, one attempt at a time probes the
	// subscriber after pauseUntil.
	failures   int
	pauseUntil time.Time
	probing    bool
	resendLeft int
	resendTok  string
	stats      Stats
	dirty      bool
	// changed is closed and replaced whenever there may be work.
	changed chan struct{}

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newSubscriber(n *Notifier, name types.NamespacedName, sub *trackingv1alpha1.Subscription) *subscriber {
	// A new Subscription takes what was recorded from Margin (at least a
	// second) before it was created. creationTimestamp is the API server's
	// clock in whole seconds and recordedAt the leader's, so a notification
	// recorded just after the creation can carry the same second, or an
	// earlier one. Taken as the watermark itself, it would count as handled,
	// and be lost whenever the subscriber is configured after the Parcel's
	// update (its Secret still being read): the first scan queues only what
	// is after the watermark.
	watermark := sub.CreationTimestamp.Add(-max(n.Margin, time.Second))
	if c := sub.Status.Checkpoint; c != nil {
		watermark = c.Time
	}
	s := &subscriber{
		n: n, name: name, uid: sub.UID,
		watermark:  watermark,
		queues:     map[types.UID]*parcelQueue{},
		known:      map[key]struct{}{},
		handled:    map[key]time.Time{},
		changed:    make(chan struct{}),
		generation: -1,
		stats: Stats{
			Delivered: sub.Status.Delivered, Failed: sub.Status.Failed, Dropped: sub.Status.Dropped,
			LastCode: int(sub.Status.LastStatusCode), LastError: sub.Status.LastError, State: StateAnswering,
			ResendDone: sub.Status.LastHandledResend,
		},
	}
	if t := sub.Status.LastDeliveryTime; t != nil {
		s.stats.LastDelivery = t.Time
	}
	s.stats.Checkpoint = s.watermark
	return s
}

// configure applies the Subscription's spec; it reports whether the filter
// changed, so the cache must be scanned again.
func (s *subscriber) configure(sub *trackingv1alpha1.Subscription, f filter, ep *Endpoint) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	rescan := s.generation != sub.Generation
	s.generation = sub.Generation
	s.filter = f
	s.window = sub.RetryWindowOrDefault()
	s.suspended = sub.Spec.Suspend
	if ep == nil {
		s.endpoint, s.client = nil, nil
	} else if s.endpoint == nil || !reflect.DeepEqual(*s.endpoint, *ep) {
		e := *ep
		s.endpoint = &e
		s.client = newHTTPClient(e, s.n.Policy, s.n.Concurrency)
	}
	s.broadcast()
	return rescan
}

func (s *subscriber) start(ctx context.Context) {
	ctx, s.cancel = context.WithCancel(ctx)
	for range s.n.Concurrency {
		s.wg.Go(func() { s.work(ctx) })
	}
	s.wg.Go(func() { s.tick(ctx) })
}

func (s *subscriber) stopAndWait() {
	if s.cancel != nil {
		s.cancel()
	}
	s.wg.Wait()
}

func (s *subscriber) wait() { s.wg.Wait() }

// broadcast wakes every worker; s.mu is held.
func (s *subscriber) broadcast() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// offer queues a Parcel's notifications this subscriber wants. With before
// (an update), those not in the Parcel's previous version are new whatever
// their time; without (the Parcel just entered the cache), those recorded
// after the watermark are.
func (s *subscriber) offer(p *trackingv1alpha1.Parcel, ns []Notification, before map[key]struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.offerLocked(p, ns, before)
}

func (s *subscriber) offerLocked(p *trackingv1alpha1.Parcel, ns []Notification, before map[key]struct{}) {
	if s.generation < 0 || !s.filter.matchesParcel(p) {
		return
	}
	queued := false
	for i := range ns {
		n := &ns[i]
		if !s.filter.wants(n) {
			continue
		}
		if before != nil {
			if _, ok := before[n.key()]; ok {
				continue
			}
		} else if !n.RecordedAt.After(s.watermark) {
			continue
		}
		queued = s.enqueue(&item{Notification: *n, since: n.RecordedAt}) || queued
	}
	if queued {
		s.broadcast()
	}
}

// enqueue adds it to its parcel's queue unless it is queued or handled
// already; s.mu is held. When the queue is full, or has overflowed and not
// been recovered yet (so that a parcel's notifications stay in order), it
// is left for the next rescan to find in the cache.
func (s *subscriber) enqueue(it *item) bool {
	k := it.key()
	if _, ok := s.known[k]; ok {
		return false
	}
	if _, ok := s.handled[k]; ok && !it.resend {
		return false
	}
	if s.overflow || s.pending >= s.n.QueueLimit {
		if it.resend {
			return false
		}
		if !s.overflow || it.RecordedAt.Before(s.floor) {
			s.floor = it.RecordedAt
		}
		s.overflow = true
		return false
	}
	q, ok := s.queues[it.ParcelUID]
	if !ok {
		q = &parcelQueue{}
		s.queues[it.ParcelUID] = q
	}
	q.items = append(q.items, it)
	if len(q.items) == 1 && !q.busy {
		s.ready = append(s.ready, it.ParcelUID)
	}
	s.known[k] = struct{}{}
	s.pending++
	s.dirty = true
	return true
}

// rescan queues what the cache holds that this subscriber has not had
// since its watermark: for a new subscriber, a changed filter, or after an
// overflow.
func (s *subscriber) rescan(ctx context.Context) error {
	s.mu.Lock()
	sel := s.filter.selector
	s.mu.Unlock()
	parcels, err := listParcels(ctx, s.n.Cache, s.name.Namespace, sel)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.overflow = false
	s.floor = time.Time{}
	for i := range parcels {
		s.offerLocked(&parcels[i], Notifications(&parcels[i]), nil)
	}
	s.broadcast()
	return nil
}

// resending reports whether the resend of token is under way or done.
func (s *subscriber) resending(token string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return token == s.resendTok || token == s.stats.ResendDone
}

// resend queues all of a Parcel's notifications again.
func (s *subscriber) resend(p *trackingv1alpha1.Parcel, token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.n.Clock.Now()
	s.resendTok, s.resendLeft = token, 0
	for _, n := range Notifications(p) {
		if !s.filter.wants(&n) {
			continue
		}
		if s.enqueue(&item{Notification: n, since: now, resend: true}) {
			s.resendLeft++
		}
	}
	s.resendDone()
	s.broadcast()
}

// resendDone reports the resend finished once nothing of it is left.
func (s *subscriber) resendDone() {
	if s.resendLeft <= 0 && s.resendTok != "" {
		s.stats.ResendDone = s.resendTok
		s.resendTok = ""
		s.dirty = true
	}
}

// work sends notifications until ctx ends.
func (s *subscriber) work(ctx context.Context) {
	for {
		it, hc, ep, wait, changed := s.next()
		if it == nil {
			if !s.sleep(ctx, wait, changed) {
				return
			}
			continue
		}
		s.finish(it, s.attempt(ctx, hc, ep, it))
		if ctx.Err() != nil {
			return
		}
	}
}

// sleep waits for a change, or for wait when it is positive; false once
// ctx ends.
func (s *subscriber) sleep(ctx context.Context, wait time.Duration, changed <-chan struct{}) bool {
	var timer <-chan time.Time
	if wait > 0 {
		t := s.n.Clock.NewTimer(wait)
		defer t.Stop()
		timer = t.C()
	}
	select {
	case <-ctx.Done():
		return false
	case <-changed:
	case <-timer:
	}
	return true
}

// next picks the next notification to send, or says how long to wait.
func (s *subscriber) next() (*item, *http.Client, Endpoint, time.Duration, <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	idle := func(wait time.Duration) (*item, *http.Client, Endpoint, time.Duration, <-chan struct{}) {
		return nil, nil, Endpoint{}, wait, s.changed
	}
	if s.suspended || s.endpoint == nil || len(s.ready) == 0 {
		return idle(0)
	}
	if s.failures > 0 {
		if s.probing {
			return idle(0)
		}
		if wait := s.pauseUntil.Sub(s.n.Clock.Now()); wait > 0 {
			return idle(wait)
		}
		s.probing = true
	}
	uid := s.ready[0]
	s.ready = s.ready[1:]
	q := s.queues[uid]
	q.busy = true
	it := q.items[0]
	it.probe = s.failures > 0
	return it, s.client, *s.endpoint, 0, s.changed
}

// attempt makes one delivery attempt.
func (s *subscriber) attempt(ctx context.Context, hc *http.Client, ep Endpoint, it *item) result {
	body, err := Encode(s.uid, &it.Notification)
	if err != nil {
		return result{err: err}
	}
	start := s.n.Clock.Now()
	r := post(ctx, hc, ep, EventID(s.uid, &it.Notification), body, start)
	observeAttempt(s.name, r, s.n.Clock.Since(start))
	log := s.n.Log.WithValues("subscription", s.name, "parcel", it.Name, "event", it.Event.ID, "type", it.Type)
	if r.err != nil {
		log.V(1).Info("delivery failed", "code", r.code, "retry", r.retry, "error", r.err.Error())
	} else {
		log.V(1).Info("delivered", "code", r.code)
	}
	return r
}

// finish records an attempt's outcome.
func (s *subscriber) finish(it *item, r result) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.n.Clock.Now()
	q := s.queues[it.ParcelUID]
	q.busy = false
	probe := it.probe
	it.probe = false
	if probe {
		s.probing = false
	}
	s.dirty = true
	s.stats.LastCode = r.code
	switch {
	case r.err == nil:
		s.stats.Delivered++
		s.stats.LastDelivery = now
		s.stats.LastError = ""
		s.stats.State = StateAnswering
		s.failures = 0
		s.pop(q, it)
	case !r.retry:
		s.stats.Failed++
		s.stats.LastError = r.err.Error()
		s.stats.LastRefusal = s.stats.LastError
		s.stats.State = StateAnswering
		s.failures = 0
		s.pop(q, it)
	default:
		s.stats.LastError = r.err.Error()
		if r.refused {
			s.stats.State = StateRefused
		} else if s.stats.State != StateWindowExceeded {
			s.stats.State = StateFailing
		}
		s.pause(now, r.retryAfter, probe)
	}
	// The parcel goes to the front: it was first in line.
	if len(q.items) > 0 {
		s.ready = append([]types.UID{it.ParcelUID}, s.ready...)
	} else {
		delete(s.queues, it.ParcelUID)
	}
	if r.err != nil && r.retry {
		s.expire(now)
	}
	s.broadcast()
}

// pause stops sending after a failed attempt; s.mu is held. The attempts
// in flight when a receiver goes away all fail: the first failure starts
// the backoff and each failed probe lengthens it, but the others count
// only for their Retry-After, so the pause does not grow with the
// concurrency.
func (s *subscriber) pause(now time.Time, retryAfter time.Duration, probe bool) {
	if s.failures > 0 && !probe {
		if until := now.Add(retryAfter); until.After(s.pauseUntil) {
			s.pauseUntil = until
		}
		return
	}
	s.failures++
	jitter := s.n.Jitter
	if jitter == nil {
		jitter = defaultJitter
	}
	s.pauseUntil = now.Add(max(retryAfter, s.n.Backoff.Delay(s.failures, jitter)))
}

// pop removes a parcel's head once handled; s.mu is held.
func (s *subscriber) pop(q *parcelQueue, it *item) {
	q.items = q.items[1:]
	s.pending--
	k := it.key()
	delete(s.known, k)
	if it.resend {
		s.resendLeft--
		s.resendDone()
		return
	}
	if it.RecordedAt.After(s.watermark) {
		s.handled[k] = it.RecordedAt
	}
}

// expire drops what has waited past the retry window while the subscriber
// could not take it (failing, suspended or unconfigured); s.mu is held.
func (s *subscriber) expire(now time.Time) {
	if s.failures == 0 && !s.suspended && s.endpoint != nil {
		return
	}
	deadline := now.Add(-s.window)
	dropped := 0
	for uid, q := range s.queues {
		keep := q.items[:0:0]
		for i, it := range q.items {
			if (i == 0 && q.busy) || !it.since.Before(deadline) {
				keep = append(keep, it)
				continue
			}
			dropped++
			s.pending--
			k := it.key()
			delete(s.known, k)
			if it.resend {
				s.resendLeft--
			} else if it.RecordedAt.After(s.watermark) {
				s.handled[k] = it.RecordedAt
			}
		}
		q.items = keep
		if len(keep) == 0 && !q.busy {
			delete(s.queues, uid)
		}
	}
	if dropped == 0 {
		return
	}
	ready := s.ready[:0]
	for _, uid := range s.ready {
		if _, ok := s.queues[uid]; ok {
			ready = append(ready, uid)
		}
	}
	s.ready = ready
	s.stats.Dropped += int64(dropped)
	s.stats.State = StateWindowExceeded
	countDropped(s.name, dropped)
	s.resendDone()
	s.dirty = true
}

// tick first queues what the cache holds since the watermark, then every
// Tick expires, recovers from overflow and reports. The watermark never
// moves before that first scan: a notification it passed over would be
// lost.
func (s *subscriber) tick(ctx context.Context) {
	for {
		err := s.rescan(ctx)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return
		}
		s.n.Log.Error(err, "scanning the cache for a subscription's notifications", "subscription", s.name)
		if !s.sleep(ctx, s.n.Tick, nil) {
			return
		}
	}
	t := s.n.Clock.NewTicker(s.n.Tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		}
		s.mu.Lock()
		s.expire(s.n.Clock.Now())
		recovery := s.overflow && s.pending <= s.n.QueueLimit/2
		s.mu.Unlock()
		if recovery {
			if err := s.rescan(ctx); err != nil && !errors.Is(err, context.Canceled) {
				s.n.Log.Error(err, "recovering an overflowed queue", "subscription", s.name)
			}
		}
		s.mu.Lock()
		if s.advance(s.n.Clock.Now()) {
			s.dirty = true
		}
		dirty := s.dirty
		s.dirty = false
		setBacklog(s.name, s.pending)
		s.mu.Unlock()
		if dirty && s.n.Changed != nil {
			s.n.Changed(ctx, s.name)
		}
	}
}

// advance moves the watermark as far as it may go: Margin behind the
// clock, before the earliest notification still queued (resends aside:
// they are asked for again by their annotation), and before the earliest
// one an overflow left out. Times on a Parcel have whole seconds, so
// "before t" is t less a second. It moves back only to cover a
// notification recorded at or before it that arrived late. It reports
// whether the watermark passed notifications handled since, so the
// checkpoint is written again until it covers the last of them; s.mu is
// held.
func (s *subscriber) advance(now time.Time) bool {
	w := now.Add(-s.n.Margin).Truncate(time.Second)
	if w.Before(s.watermark) {
		w = s.watermark
	}
	for _, q := range s.queues {
		for _, it := range q.items {
			if !it.resend && !it.RecordedAt.After(w) {
				w = it.RecordedAt.Add(-time.Second)
			}
		}
	}
	if s.overflow && !s.floor.After(w) {
		w = s.floor.Add(-time.Second)
	}
	w = w.Truncate(time.Second)
	passed := false
	if !w.Equal(s.watermark) {
		s.watermark = w
		for k, t := range s.handled {
			if !t.After(w) {
				delete(s.handled, k)
				passed = true
			}
		}
	}
	s.stats.Checkpoint = s.watermark
	return passed
}

// snapshot returns the subscriber's stats.
func (s *subscriber) snapshot() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Backlog = int64(s.pending)
	return st
}
