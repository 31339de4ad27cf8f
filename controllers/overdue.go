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
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
)

// parcelCourierField indexes Parcels by the courier handling them
// (trackingv1alpha1.CourierOf), so a Courier's new maxTimeInStatus reaches
// exactly its parcels.
const parcelCourierField = "tracking.parcelops.io/courier"

// overdueVerdict is what the Overdue condition should say of a parcel now,
// and when to look again.
type overdueVerdict struct {
	// applies is false when no limit applies (terminal phase, no courier,
	// no limit for the phase): the condition is removed.
	applies bool
	status  metav1.ConditionStatus
	reason  string
	message string
	// recheck is how long until the parcel becomes overdue; 0 when it is
	// overdue already or no limit applies.
	recheck time.Duration
}

// computeOverdue decides the Overdue condition of a parcel whose phase and
// lastEventTime are current, for its courier (nil when it has none) at
// now. The messages name the status, since when and the limit, but not the
// time elapsed: they stay the same until something changes, so a
// reconcile with nothing new writes nothing.
func computeOverdue(parcel *trackingv1alpha1.Parcel, courier *trackingv1alpha1.Courier,
	graph *trackingv1alpha1.TransitionGraph, now time.Time) overdueVerdict {
	phase, last := parcel.Status.Phase, parcel.Status.LastEventTime
	if courier == nil || last == nil || !phase.IsValid() || graph.IsTerminal(phase) {
		return overdueVerdict{}
	}
	limit, ok := courier.MaxTimeIn(phase)
	if !ok {
		return overdueVerdict{}
	}
	since := last.UTC()
	deadline := since.Add(limit)
	if !now.Before(deadline) {
		return overdueVerdict{
			applies: true,
			status:  metav1.ConditionTrue,
			reason:  trackingv1alpha1.ReasonTimeInStatusExceeded,
			message: fmt.Sprintf("%s since %s: longer than the %s courier %s allows", phase.DisplayName(),
				since.Format(time.RFC3339), limit, courier.Name),
		}
	}
	return overdueVerdict{
		applies: true,
		status:  metav1.ConditionFalse,
		reason:  trackingv1alpha1.ReasonWithinTimeInStatus,
		message: fmt.Sprintf("%s since %s: overdue at %s, after the %s courier %s allows", phase.DisplayName(),
			since.Format(time.RFC3339), deadline.Format(time.RFC3339), limit, courier.Name),
		recheck: deadline.Sub(now),
	}
}

// +kubebuilder:rbac:groups=tracking.parcelops.io,resources=couriers,verbs=get;list;watch

// reconcileOverdue owns the Overdue condition: True once the parcel has
// stayed in its phase longer than its courier's maxTimeInStatus, False
// until then, absent where no limit applies. It reports a condition newly
// True, and returns how long until the parcel falls overdue (0 when it has
// or no limit applies), the moment to look again; a new event starts a new
// generation, which reconciles and resets it.
func (r *ParcelReconciler) reconcileOverdue(ctx context.Context, before, parcel *trackingv1alpha1.Parcel,
	found *report) (time.Duration, error) {
	v, err := r.overdueVerdict(ctx, parcel)
	if err != nil {
		return 0, err
	}
	if !v.applies {
		meta.RemoveStatusCondition(&parcel.Status.Conditions, trackingv1alpha1.ConditionOverdue)
		return 0, nil
	}
	r.setCondition(parcel, trackingv1alpha1.ConditionOverdue, v.status, v.reason, v.message)
	if v.status == metav1.ConditionTrue && !meta.IsStatusConditionTrue(before.Status.Conditions, trackingv1alpha1.ConditionOverdue) {
		found.overdue = v.message
	}
	return v.recheck, nil
}

// overdueVerdict reads the parcel's courier from the cache and decides.
func (r *ParcelReconciler) overdueVerdict(ctx context.Context, parcel *trackingv1alpha1.Parcel) (overdueVerdict, error) {
	name := trackingv1alpha1.CourierOf(parcel.Spec.Events)
	if name == "" {
		return overdueVerdict{}, nil
	}
	courier := &trackingv1alpha1.Courier{}
	switch err := r.Get(ctx, client.ObjectKey{Namespace: parcel.Namespace, Name: name}, courier); {
	case apierrors.IsNotFound(err):
		courier = nil
	case err != nil:
		return overdueVerdict{}, fmt.Errorf("reading courier %s for its maxTimeInStatus: %w", name, err)
	}
	return computeOverdue(parcel, courier, r.Transitions, r.Clock.Now()), nil
}

// indexParcelsByCourier registers parcelCourierField.
func indexParcelsByCourier(mgr ctrl.Manager) error {
	err := mgr.GetFieldIndexer().IndexField(context.Background(), &trackingv1alpha1.Parcel{}, parcelCourierField,
		func(obj client.Object) []string {
			if name := trackingv1alpha1.CourierOf(obj.(*trackingv1alpha1.Parcel).Spec.Events); name != "" {
				return []string{name}
			}
			return nil
		})
	if err != nil {
		return fmt.Errorf("indexing Parcels by courier: %w", err)
	}
	return nil
}

// courierParcels maps a Courier to its parcels that are not terminal: the
// only ones its maxTimeInStatus concerns.
func (r *ParcelReconciler) courierParcels() handler.EventHandler {
	return handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, obj client.Object) []reconcile.Request {
		parcels := &trackingv1alpha1.ParcelList{}
		if err := r.List(ctx, parcels, client.InNamespace(obj.GetNamespace()),
			client.MatchingFields{parcelCourierField: obj.GetName()}, client.UnsafeDisableDeepCopy); err != nil {
			ctrl.LoggerFrom(ctx).Error(err, "listing the parcels of a courier whose maxTimeInStatus changed", "courier", obj.GetName())
			return nil
		}
		var out []reconcile.Request
		for i := range parcels.Items {
			p := &parcels.Items[i]
			if phase := p.Status.Phase; phase.IsValid() && r.Transitions.IsTerminal(phase) {
				continue
			}
			out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(p)})
		}
		return out
	})
}

// maxTimeInStatusChanged passes a Courier created or deleted, or whose
// maxTimeInStatus changed; nothing else about a courier concerns Overdue.
var maxTimeInStatusChanged = predicate.Funcs{
	UpdateFunc: func(e event.UpdateEvent) bool {
		oldCourier, okOld := e.ObjectOld.(*trackingv1alpha1.Courier)
		newCourier, okNew := e.ObjectNew.(*trackingv1alpha1.Courier)
		return okOld && okNew && !equality.Semantic.DeepEqual(oldCourier.Spec.MaxTimeInStatus, newCourier.Spec.MaxTimeInStatus)
	},
	GenericFunc: func(event.GenericEvent) bool { return false },
}

// overdueDesc describes parcel_overdue.
var overdueDesc = prometheus.NewDesc("parcel_overdue",
	"Parcels whose Overdue condition is True, by the namespace of the Parcel and its status. Only the elected leader reports it.",
	[]string{"parcel_namespace", "status"}, nil)

// collectTimeout bounds one scrape's read of the cache.
const collectTimeout = 10 * time.Second

// OverdueCollector reports parcel_overdue, counted from the Parcels in the
// cache at each scrape: always the conditions as written, whatever was
// created, deleted or reconciled in between, with no bookkeeping to lose
// on a restart. Only the elected leader reports, so summing over replicas
// counts each parcel once.
type OverdueCollector struct {
	// Reader lists Parcels from the manager's cache.
	Reader client.Reader
	// Elected is closed once this replica leads (mgr.Elected()).
	Elected <-chan struct{}
}

// Describe implements prometheus.Collector.
func (c *OverdueCollector) Describe(ch chan<- *prometheus.Desc) { ch <- overdueDesc }

// Collect implements prometheus.Collector.
func (c *OverdueCollector) Collect(ch chan<- prometheus.Metric) {
	select {
	case <-c.Elected:
	default:
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), collectTimeout)
	defer cancel()
	parcels := &trackingv1alpha1.ParcelList{}
	if err := c.Reader.List(ctx, parcels, client.UnsafeDisableDeepCopy); err != nil {
		ch <- prometheus.NewInvalidMetric(overdueDesc, err)
		return
	}
	type key struct {
		namespace string
		status    trackingv1alpha1.TrackingStatus
	}
	counts := map[key]int{}
	for i := range parcels.Items {
		p := &parcels.Items[i]
		if meta.IsStatusConditionTrue(p.Status.Conditions, trackingv1alpha1.ConditionOverdue) {
			counts[key{p.Namespace, p.Status.Phase}]++
		}
	}
	for k, n := range counts {
		ch <- prometheus.MustNewConstMetric(overdueDesc, prometheus.GaugeValue, float64(n), k.namespace, string(k.status))
	}
}
