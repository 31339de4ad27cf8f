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
	"fmt"
	"sync"
	"time"

	"github.com/go-logr/logr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
)

// Options tune the Notifier; DefaultOptions gives the values the manager
// runs with.
type Options struct {
	// Policy says which addresses subscribers may have.
	Policy AddressPolicy
	// Concurrency is how many notifications one subscriber receives at
	// once (each of a different parcel).
	Concurrency int
	// QueueLimit is how many notifications one subscriber's queue holds in
	// memory. Past it, new ones are not queued but found again in the
	// cache once the queue has drained to half (docs/notifications.md).
	QueueLimit int
	// Backoff paces retries of a failing subscriber.
	Backoff Backoff
	// Margin keeps the checkpoint this far behind the clock, to cover the
	// time between the reconciler recording a verdict and the notifier
	// seeing it, and clock differences between replicas.
	Margin time.Duration
	// Tick is how often each subscriber drops what outlived its retry
	// window, reports its state and checkpoint (so at most one status
	// write per Tick per Subscription), and recovers an overflowed queue.
	Tick time.Duration
}

// DefaultOptions are the manager's defaults.
func DefaultOptions() Options {
	return Options{
		Concurrency: 4,
		QueueLimit:  10000,
		Backoff:     DefaultBackoff,
		Margin:      10 * time.Second,
		Tick:        5 * time.Second,
	}
}

// Notifier sends the notifications of every configured Subscription. It is
// a manager Runnable that runs on the leader only: it watches the Parcels
// in the manager's cache, so what it sends derives from the Parcels alone
// and a new leader derives it again. The Subscription reconciler configures
// it and persists what it reports.
type Notifier struct {
	// Cache is the manager's cache: Parcels are watched and listed there.
	Cache cache.Cache
	// Clock paces retries and stamps deliveries.
	Clock clock.WithTicker
	// Log logs deliveries at V(1) and failures; never a key or token.
	Log logr.Logger
	Options
	// Changed is called, at most once per Tick per Subscription, when the
	// subscriber's state changed and should be written to its status.
	Changed func(ctx context.Context, subscription types.NamespacedName)
	// Jitter returns a number in [0, 1) for the backoff; nil is random.
	Jitter func() float64

	mu   sync.Mutex
	ctx  context.Context
	subs map[types.NamespacedName]*subscriber
}

// NeedLeaderElection makes the Notifier run on the leader only: two
// replicas would each send everything.
func (n *Notifier) NeedLeaderElection() bool { return true }

// Start watches Parcels and runs every configured subscriber until ctx ends.
func (n *Notifier) Start(ctx context.Context) error {
	informer, err := n.Cache.GetInformer(ctx, &trackingv1alpha1.Parcel{})
	if err != nil {
		return fmt.Errorf("watching Parcels: %w", err)
	}
	n.mu.Lock()
	n.ctx = ctx
	for _, s := range n.subs {
		s.start(ctx)
	}
	n.mu.Unlock()

	// Registering replays every cached Parcel as an add, which queues
	// what each subscriber has not had since its checkpoint.
	reg, err := informer.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			if p, ok := obj.(*trackingv1alpha1.Parcel); ok {
				n.observe(nil, p)
			}
		},
		UpdateFunc: func(oldObj, newObj any) {
			old, ok1 := oldObj.(*trackingv1alpha1.Parcel)
			p, ok2 := newObj.(*trackingv1alpha1.Parcel)
			if ok1 && ok2 {
				n.observe(old, p)
			}
		},
	})
	if err != nil {
		return fmt.Errorf("watching Parcels: %w", err)
	}
	<-ctx.Done()
	_ = informer.RemoveEventHandler(reg)

	n.mu.Lock()
	subs := make([]*subscriber, 0, len(n.subs))
	for _, s := range n.subs {
		subs = append(subs, s)
	}
	n.mu.Unlock()
	for _, s := range subs {
		s.wait()
	}
	return nil
}

// observe offers a Parcel's new notifications to the subscribers of its
// namespace. old is nil for a Parcel the cache did not hold before.
func (n *Notifier) observe(old, p *trackingv1alpha1.Parcel) {
	n.mu.Lock()
	var subs []*subscriber
	for key, s := range n.subs {
		if key.Namespace == p.Namespace {
			subs = append(subs, s)
		}
	}
	n.mu.Unlock()
	if len(subs) == 0 {
		return
	}
	now := Notifications(p)
	var before map[key]struct{}
	if old != nil {
		prev := Notifications(old)
		before = make(map[key]struct{}, len(prev))
		for i := range prev {
			before[prev[i].key()] = struct{}{}
		}
	}
	for _, s := range subs {
		s.offer(p, now, before)
	}
}

// Configure creates or updates the subscriber of sub. ep is nil while the
// Subscription cannot be served (its Secret is unusable): notifications are
// queued but not sent, as when suspended.
func (n *Notifier) Configure(sub *trackingv1alpha1.Subscription, ep *Endpoint) error {
	f, err := newFilter(sub)
	if err != nil {
		return err
	}
	name := types.NamespacedName{Namespace: sub.Namespace, Name: sub.Name}
	n.mu.Lock()
	s, ok := n.subs[name]
	if ok && s.uid != sub.UID {
		// The Subscription was deleted and created again under its name.
		delete(n.subs, name)
		n.mu.Unlock()
		s.stopAndWait()
		forgetMetrics(name)
		n.mu.Lock()
		ok = false
	}
	n.mu.Unlock()
	if ok {
		// A changed filter scans the cache again.
		if rescan := s.configure(sub, f, ep); rescan {
			n.mu.Lock()
			ctx := n.ctx
			n.mu.Unlock()
			if ctx != nil {
				return s.rescan(ctx)
			}
		}
		return nil
	}
	// A new subscriber is configured before anything can run it; it scans
	// the cache when it starts.
	s = newSubscriber(n, name, sub)
	s.configure(sub, f, ep)
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.subs == nil {
		n.subs = map[types.NamespacedName]*subscriber{}
	}
	n.subs[name] = s
	if n.ctx != nil {
		s.start(n.ctx)
	}
	return nil
}

// Remove stops the subscriber of a Subscription that is gone.
func (n *Notifier) Remove(name types.NamespacedName) {
	n.mu.Lock()
	s, ok := n.subs[name]
	delete(n.subs, name)
	n.mu.Unlock()
	if ok {
		s.stopAndWait()
		forgetMetrics(name)
	}
}

// Resend queues every notification of one Parcel again for a
// subscription, whatever was sent before, and reports whether it did:
// asking again with the token of a resend under way or done does nothing.
// Stats.ResendDone reports token once they are all delivered, refused or
// dropped.
func (n *Notifier) Resend(ctx context.Context, name types.NamespacedName, parcel, token string) (bool, error) {
	n.mu.Lock()
	s, ok := n.subs[name]
	n.mu.Unlock()
	if !ok {
		return false, fmt.Errorf("subscription %s is not configured", name)
	}
	if s.resending(token) {
		return false, nil
	}
	p := &trackingv1alpha1.Parcel{}
	if err := n.Cache.Get(ctx, types.NamespacedName{Namespace: name.Namespace, Name: parcel}, p); err != nil {
		return false, fmt.Errorf("parcel %q: %w", parcel, err)
	}
	s.resend(p, token)
	return true, nil
}

// Snapshot returns what a subscriber has done, for its status.
func (n *Notifier) Snapshot(name types.NamespacedName) (Stats, bool) {
	n.mu.Lock()
	s, ok := n.subs[name]
	n.mu.Unlock()
	if !ok {
		return Stats{}, false
	}
	return s.snapshot(), true
}

// filter is what a Subscription asks for.
type filter struct {
	selector labels.Selector
	couriers map[string]bool
	types    map[trackingv1alpha1.NotificationType]bool
	statuses map[trackingv1alpha1.TrackingStatus]bool
}

func newFilter(sub *trackingv1alpha1.Subscription) (filter, error) {
	f := filter{selector: labels.Everything(), types: map[trackingv1alpha1.NotificationType]bool{}}
	if sub.Spec.ParcelSelector != nil {
		sel, err := metav1.LabelSelectorAsSelector(sub.Spec.ParcelSelector)
		if err != nil {
			return filter{}, fmt.Errorf("spec.parcelSelector: %w", err)
		}
		f.selector = sel
	}
	if len(sub.Spec.Couriers) > 0 {
		f.couriers = map[string]bool{}
		for _, c := range sub.Spec.Couriers {
			f.couriers[c] = true
		}
	}
	for _, t := range []trackingv1alpha1.NotificationType{trackingv1alpha1.NotificationStatusChanged,
		trackingv1alpha1.NotificationProofOfDeliveryStored, trackingv1alpha1.NotificationUpdateRejected} {
		f.types[t] = sub.Wants(t)
	}
	if len(sub.Spec.Statuses) > 0 {
		f.statuses = map[trackingv1alpha1.TrackingStatus]bool{}
		for _, st := range sub.Spec.Statuses {
			f.statuses[st] = true
		}
	}
	return f, nil
}

func (f filter) matchesParcel(p *trackingv1alpha1.Parcel) bool {
	return f.selector.Matches(labels.Set(p.Labels))
}

func (f filter) wants(n *Notification) bool {
	if !f.types[n.Type] {
		return false
	}
	if f.couriers != nil && !f.couriers[n.Event.Source] {
		return false
	}
	if n.Type == trackingv1alpha1.NotificationStatusChanged && f.statuses != nil && !f.statuses[n.Event.Status] {
		return false
	}
	return true
}

// listParcels lists the cached Parcels a filter matches, without copying
// them (they are only read).
func listParcels(ctx context.Context, c cache.Cache, namespace string, sel labels.Selector) ([]trackingv1alpha1.Parcel, error) {
	var list trackingv1alpha1.ParcelList
	if err := c.List(ctx, &list, client.InNamespace(namespace), client.MatchingLabelsSelector{Selector: sel},
		client.UnsafeDisableDeepCopy); err != nil {
		return nil, fmt.Errorf("listing the Parcels of %s: %w", namespace, err)
	}
	return list.Items, nil
}
