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

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
	// Auth reads Secrets and Couriers through the cache's indexes.
	Auth *courierauth.Authenticator
	// Clock stamps condition transitions.
	Clock clock.PassiveClock
}

// +kubebuilder:rbac:groups=tracking.parcelops.io,resources=couriers,verbs=get;list;watch
// +kubebuilder:rbac:groups=tracking.parcelops.io,resources=couriers/status,verbs=get;patch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch

// Reconcile checks one Courier's credentials.
func (r *CourierReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	courier := &trackingv1alpha1.Courier{}
	if err := r.Get(ctx, req.NamespacedName, courier); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	before := courier.DeepCopy()

	ready, reason, message, err := r.Auth.Check(ctx, courier)
	if err != nil {
		return ctrl.Result{}, err
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
	courier.Status.ObservedGeneration = courier.Generation

	if equality.Semantic.DeepEqual(before.Status, courier.Status) {
		return ctrl.Result{}, nil
	}
	logf.FromContext(ctx).Info("courier credentials checked", "ready", ready, "reason", reason)
	return ctrl.Result{}, r.Status().Patch(ctx, courier, client.MergeFrom(before))
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
func (r *CourierReconciler) couriersSharingToken(ctx context.Context, obj client.Object) []reconcile.Request {
	courier := obj.(*trackingv1alpha1.Courier)
	secret := &corev1.Secret{}
	if err := r.Get(ctx, client.ObjectKey{Namespace: courier.Namespace, Name: courier.Spec.SecretRef.Name}, secret); err != nil {
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
	return ctrl.NewControllerManagedBy(mgr).
		For(&trackingv1alpha1.Courier{}).
		Watches(&corev1.Secret{}, r.secretHandler()).
		Watches(&trackingv1alpha1.Courier{}, handler.EnqueueRequestsFromMapFunc(r.couriersSharingToken)).
		Named("courier").
		Complete(r)
}
