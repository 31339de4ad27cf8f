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
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
	"github.com/parcelops/parcel-operator/internal/podstore"
	"github.com/parcelops/parcel-operator/internal/retention"
)

// retentionConcurrency bounds the parcels archived at once. Turning the
// --archive-after on for a cluster full of old parcels then archives them at a
// pace the API server and the bucket barely notice.
const retentionConcurrency = 2

// actionArchive is the action of the retention controller's Events.
const actionArchive = "Archive"

// ArchiveDue returns when a Parcel falls due for archiving archiveAfter
// after it was last heard of, and false when it is not eligible at all:
// archiving off, a
// status not yet computed from the current spec, Ready not True (a proof of
// delivery still to store, or stalled for a person), or a phase that is not
// terminal.
//
// archiveAfter counts from the latest of the parcel's lastEventTime (the
// time the courier reported for its terminal scan, or for a later re-scan
// of it), the last time the operator received an event for it (receivedAt)
// and its creation. With scans reported as they happen, that is the time of
// the terminal scan; a parcel imported late, or that keeps receiving scans,
// still stays for the full archiveAfter after the operator last heard of it.
func ArchiveDue(parcel *trackingv1alpha1.Parcel, archiveAfter time.Duration, graph *trackingv1alpha1.TransitionGraph) (time.Time, bool) {
	phase := parcel.Status.Phase
	if archiveAfter <= 0 || parcel.Status.ObservedGeneration != parcel.Generation ||
		!phase.IsValid() || !graph.IsTerminal(phase) ||
		!meta.IsStatusConditionTrue(parcel.Status.Conditions, trackingv1alpha1.ConditionReady) {
		return time.Time{}, false
	}
	from := parcel.CreationTimestamp.Time
	if t := parcel.Status.LastEventTime; t != nil && t.After(from) {
		from = t.Time
	}
	for _, e := range parcel.Spec.Events {
		if e.ReceivedAt != nil && e.ReceivedAt.After(from) {
			from = e.ReceivedAt.Time
		}
	}
	return from.Add(archiveAfter), true
}

// RetentionReconciler archives terminal Parcels (Delivered, Returned to
// Sender) once --archive-after has passed: it writes each to the bucket as
// one JSON document, reads it back verified, and only then deletes the
// Parcel, on condition that it is still the state archived. A cluster then
// holds only live parcels; docs/archive.md describes the archive.
type RetentionReconciler struct {
	client.Client
	// Recorder records events.k8s.io Events on Parcels.
	Recorder events.EventRecorder
	// Store is the bucket archives are written to.
	Store *podstore.Store
	// Transitions says which phases are terminal.
	Transitions *trackingv1alpha1.TransitionGraph
	// ArchiveAfter is how long a terminal parcel stays; see ArchiveDue.
	ArchiveAfter time.Duration
	// Clock decides what is due, and stamps archives.
	Clock clock.PassiveClock
}

// +kubebuilder:rbac:groups=tracking.parcelops.io,resources=parcels,verbs=get;list;watch;patch;delete

// Reconcile archives and deletes one Parcel when it is due, or asks to be
// called again at the moment it falls due.
func (r *RetentionReconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, retErr error) {
	parcel := &trackingv1alpha1.Parcel{}
	if err := r.Get(ctx, req.NamespacedName, parcel); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !parcel.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil
	}

	defer func() {
		// A conflict is a parcel that changed after it was archived: the
		// next pass archives the new state, nothing is wrong.
		if retErr != nil && !apierrors.IsConflict(retErr) {
			r.Recorder.Eventf(parcel, nil, corev1.EventTypeWarning, trackingv1alpha1.EventArchiveFailed, actionArchive, "%v", retErr)
		}
	}()

	due, eligible := ArchiveDue(parcel, r.ArchiveAfter, r.Transitions)
	wait := due.Sub(r.Clock.Now())
	if !eligible || wait > 0 {
		if err := r.reconcileUnmark(ctx, parcel); err != nil {
			return ctrl.Result{}, err
		}
		if !eligible {
			return ctrl.Result{}, nil
		}
		return ctrl.Result{RequeueAfter: wait}, nil
	}
	archived, err := r.archive(ctx, parcel)
	if err != nil {
		return ctrl.Result{}, err
	}
	return ctrl.Result{}, r.deleteArchived(ctx, parcel, archived)
}

// archive writes the parcel's archive document and reads it back verified.
// It changes nothing in the cluster, so a failure leaves the parcel as it
// was, to be retried with backoff.
func (r *RetentionReconciler) archive(ctx context.Context, parcel *trackingv1alpha1.Parcel) (podstore.Archived, error) {
	archived, err := r.Store.Archive(ctx, parcel, r.Clock.Now())
	if err != nil {
		archiveFailures.WithLabelValues(archiveFailedStore).Inc()
		return podstore.Archived{}, fmt.Errorf("archiving to the bucket: %w", err)
	}
	return archived, nil
}

// deleteArchived marks the parcel with its archive's URL (ArchivedAnnotation)
// on condition that it still has the resourceVersion archived, then deletes
// it on condition that it still has the marked one (UID and resourceVersion
// preconditions). A parcel that changed in between is not deleted: the
// error is a conflict, and the next pass archives the new state over the
// old. The mark tells the Parcel reconciler to keep the stored
// proof-of-delivery files the archive links to.
func (r *RetentionReconciler) deleteArchived(ctx context.Context, parcel *trackingv1alpha1.Parcel, archived podstore.Archived) error {
	patch := client.MergeFromWithOptions(parcel.DeepCopy(), client.MergeFromWithOptimisticLock{})
	metav1.SetMetaDataAnnotation(&parcel.ObjectMeta, trackingv1alpha1.ArchivedAnnotation, archived.URL)
	if err := r.Patch(ctx, parcel, patch); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		archiveFailures.WithLabelValues(apiFailure(err)).Inc()
		return fmt.Errorf("marking the parcel archived at %s: %w", archived.URL, err)
	}
	uid, version := parcel.UID, parcel.ResourceVersion
	if err := r.Delete(ctx, parcel, client.Preconditions{UID: &uid, ResourceVersion: &version}); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		archiveFailures.WithLabelValues(apiFailure(err)).Inc()
		return fmt.Errorf("deleting the parcel archived at %s: %w", archived.URL, err)
	}
	parcelsArchived.Inc()
	r.Recorder.Eventf(parcel, nil, corev1.EventTypeNormal, trackingv1alpha1.EventArchived, actionArchive,
		"archived to %s (%d bytes, sha256 %s) and deleted", archived.URL, archived.Size, archived.SHA256)
	logf.FromContext(ctx).Info("archived and deleted parcel", "archive", archived.URL, "bytes", archived.Size,
		"phase", parcel.Status.Phase)
	return nil
}

// reconcileUnmark removes an ArchivedAnnotation left by a pass whose delete
// was refused, once the parcel is no longer due (a correction moved it out
// of its terminal status, or a new scan restarted its wait): the mark
// lives only between an archive and the delete.
func (r *RetentionReconciler) reconcileUnmark(ctx context.Context, parcel *trackingv1alpha1.Parcel) error {
	if _, marked := parcel.Annotations[trackingv1alpha1.ArchivedAnnotation]; !marked {
		return nil
	}
	patch := client.MergeFromWithOptions(parcel.DeepCopy(), client.MergeFromWithOptimisticLock{})
	delete(parcel.Annotations, trackingv1alpha1.ArchivedAnnotation)
	if err := r.Patch(ctx, parcel, patch); err != nil {
		return fmt.Errorf("removing the archive mark of a parcel no longer due: %w", err)
	}
	return nil
}

// archivedParcel reports whether the retention controller archived the
// parcel before deleting it, so its stored files must stay.
func archivedParcel(parcel *trackingv1alpha1.Parcel) bool {
	_, ok := parcel.Annotations[trackingv1alpha1.ArchivedAnnotation]
	return ok
}

func apiFailure(err error) string {
	if apierrors.IsConflict(err) {
		return archiveFailedConflict
	}
	return archiveFailedAPI
}

// candidate passes the watch events that may concern retention: terminal
// parcels and parcels that carry the archive mark. Any other parcel is
// never due, and the one that leaves a terminal status still has its
// requeue pending.
func (r *RetentionReconciler) candidate(obj client.Object) bool {
	parcel, ok := obj.(*trackingv1alpha1.Parcel)
	if !ok {
		return false
	}
	phase := parcel.Status.Phase
	return archivedParcel(parcel) || (phase.IsValid() && r.Transitions.IsTerminal(phase))
}

// predicates filter the watch down to candidates, and drop the update the
// archive mark itself makes: the pass that set it deletes the parcel next,
// or fails and is retried; a second pass would only archive it again.
func (r *RetentionReconciler) predicates() predicate.Funcs {
	return predicate.Funcs{
		CreateFunc:  func(e event.CreateEvent) bool { return r.candidate(e.Object) },
		DeleteFunc:  func(event.DeleteEvent) bool { return false },
		GenericFunc: func(e event.GenericEvent) bool { return r.candidate(e.Object) },
		UpdateFunc: func(e event.UpdateEvent) bool {
			oldParcel, okOld := e.ObjectOld.(*trackingv1alpha1.Parcel)
			newParcel, okNew := e.ObjectNew.(*trackingv1alpha1.Parcel)
			if okOld && okNew && !archivedParcel(oldParcel) && archivedParcel(newParcel) {
				return false
			}
			return r.candidate(e.ObjectNew)
		},
	}
}

// SetupWithManager registers the reconciler. Unlike the Parcel reconciler
// it watches status changes too: the phase and Ready live there.
func (r *RetentionReconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.ArchiveAfter < retention.MinArchiveAfter {
		return errors.New("the retention controller needs an ArchiveAfter of at least " + retention.MinArchiveAfter.String())
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&trackingv1alpha1.Parcel{}, builder.WithPredicates(r.predicates())).
		WithOptions(controller.Options{
			MaxConcurrentReconciles: retentionConcurrency,
			RateLimiter:             workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](retryBaseDelay, retryMaxDelay),
		}).
		Named("retention").
		Complete(r)
}
