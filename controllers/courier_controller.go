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

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
	"github.com/parcelops/parcel-operator/internal/courierauth"
)

// CourierReconciler keeps each Courier's Ready condition saying whether it
// can authenticate, and why not. It writes status only.
type CourierReconciler struct {
	client.Client
	// Recorder records events.k8s.io Events on Couriers; SetupWithManager
	// takes the manager's when it is nil.
	Recorder events.EventRecorder
	// Auth reads Secrets and Couriers through the cache's indexes.
	Auth *courierauth.Authenticator
	// Clock stamps condition transitions.
	Clock clock.PassiveClock
}

// +kubebuilder:rbac:groups=tracking.parcelops.io,resources=couriers,verbs=get;list;watch
// +kubebuilder:rbac:groups=tracking.parcelops.io,resources=couriers/status,verbs=get;patch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile checks one Courier's credentials. A Courier has no finalizer
// and nothing to clean up, so a deleted one needs no step.
func (r *CourierReconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, retErr error) {
	courier := &trackingv1alpha1.Courier{}
	if err := r.Get(ctx, req.NamespacedName, courier); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !courier.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil
	}
	before := courier.DeepCopy()

	defer func() {
		changed, err := r.patchStatus(ctx, before, courier)
		switch {
		case err != nil:
			retErr = kerrors.NewAggregate([]error{retErr, err})
		case changed:
			if ready := meta.FindStatusCondition(courier.Status.Conditions, trackingv1alpha1.ConditionReady); ready != nil {
				logf.FromContext(ctx).Info("courier credentials checked", "ready", ready.Status, "reason", ready.Reason)
			}
		}
		if retErr != nil {
			r.Recorder.Eventf(courier, nil, corev1.EventTypeWarning, trackingv1alpha1.EventReconcileFailed, actionReconcile, "%v", retErr)
		}
	}()

	return ctrl.Result{}, r.reconcile(ctx, courier)
}

// reconcile runs the steps in order; each owns a part of the status.
func (r *CourierReconciler) reconcile(ctx context.Context, courier *trackingv1alpha1.Courier) error {
	if err := r.reconcileCredentials(ctx, courier); err != nil {
		return err
	}
	r.reconcileObservedGeneration(courier)
	return nil
}

// reconcileCredentials owns the Ready condition: True when the Courier's
// Secret holds a usable token (and signing keys, if any), False with the
// reason otherwise. A failure to read (the cache or the API server) is
// transient: Ready keeps what it said, and the error is returned so the
// work queue backs off.
func (r *CourierReconciler) reconcileCredentials(ctx context.Context, courier *trackingv1alpha1.Courier) error {
	ready, reason, message, err := r.Auth.Check(ctx, courier)
	if err != nil {
		return fmt.Errorf("checking the credentials in Secret %q: %w", courier.Spec.SecretRef.Name, err)
	}
	status := metav1.ConditionFalse
	if ready {
		status = metav1.ConditionTrue
	}
	meta.SetStatusCondition(&courier.Status.Conditions, metav1.Condition{
		Type:               trackingv1alpha1.ConditionReady,
		Status:             status,
		Reason:             reason,
		Message:            message,
		ObservedGeneration: courier.Generation,
		LastTransitionTime: metav1.NewTime(r.Clock.Now()),
	})
	return nil
}

// reconcileObservedGeneration owns status.observedGeneration: it runs last,
// so the status says it describes the current spec only once every step
// before it succeeded.
func (r *CourierReconciler) reconcileObservedGeneration(courier *trackingv1alpha1.Courier) {
	courier.Status.ObservedGeneration = courier.Generation
}

// patchStatus writes the status once, and only when it changed.
func (r *CourierReconciler) patchStatus(ctx context.Context, before, courier *trackingv1alpha1.Courier) (bool, error) {
	if equality.Semantic.DeepEqual(before.Status, courier.Status) {
		return false, nil
	}
	if err := r.Status().Patch(ctx, courier, client.MergeFrom(before)); err != nil {
		return false, fmt.Errorf("patching the Courier's status: %w", err)
	}
	return true, nil
}

// couriersForSecret returns the Couriers whose status a Secret affects:
// those naming it, and those whose Secrets hold the same token.
func (r *CourierReconciler) couriersForSecret(ctx context.Context, secret *corev1.Secret) []reconcile.Request {
	log := logf.FromContext(ctx)
	related, err := r.Auth.SecretsSharingToken(ctx, secret)
	if err != nil {
		log.Error(err, "listing Secrets that share a token")
	}
	related = append(related, *secret)
	var requests []reconcile.Request
	for i := range related {
		couriers, err := r.Auth.CouriersOf(ctx, &related[i])
		if err != nil {
			log.Error(err, "listing Couriers of a Secret")
			continue
		}
		for _, c := range couriers {
			requests = append(requests, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(c)})
		}
	}
	return requests
}

// couriersSharingToken maps a Courier to the others whose Secrets hold the
// same token: a Courier that starts or stops naming a Secret changes
// whether they share it.
//
// A Courier whose Secret is missing shares no token; any other read error
// is logged, since a map function cannot return one: the Courier's own
// reconcile still runs, and reports the error on it.
func (r *CourierReconciler) couriersSharingToken(ctx context.Context, obj client.Object) []reconcile.Request {
	courier, ok := obj.(*trackingv1alpha1.Courier)
	if !ok {
		return nil
	}
	secret := &corev1.Secret{}
	key := client.ObjectKey{Namespace: courier.Namespace, Name: courier.Spec.SecretRef.Name}
	if err := r.Get(ctx, key, secret); err != nil {
		if !apierrors.IsNotFound(err) {
			logf.FromContext(ctx).Error(err, "reading the Secret of a Courier to find the Couriers sharing its token", "secret", key)
		}
		return nil
	}
	return r.couriersForSecret(ctx, secret)
}

// secretHandler enqueues the Couriers a Secret change affects. An update
// looks at the old Secret too: Couriers that shared its old token are no
// longer sharing it.
func (r *CourierReconciler) secretHandler() handler.EventHandler {
	enqueue := func(ctx context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request], objs ...client.Object) {
		for _, obj := range objs {
			if secret, ok := obj.(*corev1.Secret); ok {
				for _, req := range r.couriersForSecret(ctx, secret) {
					q.Add(req)
				}
			}
		}
	}
	return handler.Funcs{
		CreateFunc: func(ctx context.Context, e event.CreateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			enqueue(ctx, q, e.Object)
		},
		UpdateFunc: func(ctx context.Context, e event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			enqueue(ctx, q, e.ObjectOld, e.ObjectNew)
		},
		DeleteFunc: func(ctx context.Context, e event.DeleteEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			enqueue(ctx, q, e.Object)
		},
	}
}

// SetupWithManager registers the reconciler. courierauth.IndexFields must
// have been called on the same manager.
func (r *CourierReconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.Recorder == nil {
		r.Recorder = mgr.GetEventRecorder("courier-controller")
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&trackingv1alpha1.Courier{}).
		Watches(&corev1.Secret{}, r.secretHandler()).
		Watches(&trackingv1alpha1.Courier{}, handler.EnqueueRequestsFromMapFunc(r.couriersSharingToken)).
		Named("courier").
		Complete(r)
}
