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

// Package controllers holds the reconcilers: ParcelReconciler, the only
// writer of a Parcel's status.
package controllers

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
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
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
	"github.com/parcelops/parcel-operator/internal/podstore"
	"github.com/parcelops/parcel-operator/internal/retention"
)

// PODCleanupFinalizer holds a Parcel until its stored proof-of-delivery
// files are deleted; set only with --pod-files-on-delete=Delete.
const PODCleanupFinalizer = "tracking.parcelops.io/pod-cleanup"

// Retry pacing for transient failures (object store or API server
// unreachable): quick at first, never more than a couple of minutes apart.
const (
	retryBaseDelay = time.Second
	retryMaxDelay  = 2 * time.Minute
)

// ParcelReconciler derives each Parcel's status from its events, records
// what changed as Kubernetes Events, and moves staged proof-of-delivery
// files into their final place in object storage.
type ParcelReconciler struct {
	client.Client
	// APIReader reads a Parcel from the API server when the cached copy
	// proved stale (its status write met a newer resourceVersion).
	APIReader client.Reader
	// Recorder records Kubernetes Events on Parcels.
	Recorder events.EventRecorder
	// Events says which Events a pass records; the zero value is EventsAll.
	Events EventPolicy
	// Store holds the proof-of-delivery files.
	Store *podstore.Store
	// Transitions is the graph the fold enforces.
	Transitions *trackingv1alpha1.TransitionGraph
	// OnDelete decides the fate of stored files when a Parcel is deleted.
	OnDelete retention.OnDelete
	// Clock stamps condition transitions and storage times.
	Clock clock.PassiveClock
}

// +kubebuilder:rbac:groups=tracking.parcelops.io,resources=parcels,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=tracking.parcelops.io,resources=parcels/status,verbs=get;patch
// +kubebuilder:rbac:groups=tracking.parcelops.io,resources=parcels/finalizers,verbs=update
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile brings one Parcel's status in line with its events.
//
// Every write is made under an optimistic lock on the resourceVersion of
// the copy it was computed from, so a copy the cache still holds from
// before a newer write (this process's own last status write, or an
// append) cannot be written back: the write meets a conflict, and the pass
// runs once more on a copy read from the API server. Correctness never
// depends on how far the cache lags.
func (r *ParcelReconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, retErr error) {
	parcel := &trackingv1alpha1.Parcel{}
	if err := r.Get(ctx, req.NamespacedName, parcel); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	defer func() {
		// A conflict left after the fresh read is another writer's race,
		// not a fault to report: the work queue retries it.
		if retErr != nil && !apierrors.IsConflict(retErr) {
			r.Recorder.Eventf(parcel, nil, corev1.EventTypeWarning, warningReason(retErr), actionReconcile, "%v", retErr)
		}
	}()

	result, err := r.reconcileParcel(ctx, parcel)
	if !apierrors.IsConflict(err) {
		return result, err
	}
	staleCopies.Inc()
	fresh := &trackingv1alpha1.Parcel{}
	if err := r.APIReader.Get(ctx, req.NamespacedName, fresh); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	parcel = fresh
	return r.reconcileParcel(ctx, parcel)
}

// reconcileParcel runs one pass on one copy of the Parcel: deletion first,
// then the finalizer, then the steps, and one status write. The pass's
// Events and counters are recorded only once that write has succeeded (or
// was not needed), so a failed write never records anything twice. The
// result asks for the next pass at the moment the parcel falls overdue.
func (r *ParcelReconciler) reconcileParcel(ctx context.Context, parcel *trackingv1alpha1.Parcel) (_ ctrl.Result, retErr error) {
	if !parcel.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, r.reconcileDelete(ctx, parcel)
	}
	before := parcel.DeepCopy()
	var found report
	defer func() {
		if err := r.patchStatus(ctx, before, parcel); err != nil {
			retErr = errors.Join(retErr, err)
			return
		}
		r.record(parcel, found)
	}()

	if err := r.reconcileFinalizer(ctx, parcel); err != nil {
		return ctrl.Result{}, err
	}
	fold := r.Transitions.Fold(parcel.Spec.Events)
	r.reconcilePhase(before, parcel, fold, &found)
	podErr := r.reconcileProofOfDelivery(ctx, before, parcel, &found)
	r.reconcileReady(parcel, fold)
	// Overdue has its own step and file (overdue.go), after the phase it
	// measures.
	recheck, overdueErr := r.reconcileOverdue(ctx, before, parcel, &found)
	if err := errors.Join(podErr, overdueErr); err != nil {
		return ctrl.Result{}, err
	}
	return ctrl.Result{RequeueAfter: recheck}, nil
}

// reconcilePhase writes the fold's verdict into phase, lastEventTime and
// history, and reports each transition newly applied or newly rejected
// since the status was last written.
func (r *ParcelReconciler) reconcilePhase(before, parcel *trackingv1alpha1.Parcel, fold trackingv1alpha1.FoldResult, found *report) {
	parcel.Status.Phase = fold.Phase
	parcel.Status.LastEventTime = fold.LastEventTime
	parcel.Status.History = fold.History()
	// When each verdict was first recorded: the notifier checkpoints by it.
	trackingv1alpha1.StampRecorded(before.Status.History, parcel.Status.History, metav1.NewTime(r.Clock.Now()))

	prior := make(map[string]trackingv1alpha1.EventResult, len(before.Status.History))
	for _, v := range before.Status.History {
		if v.Result != trackingv1alpha1.ResultDuplicate {
			prior[v.ID] = v.Result
		}
	}
	for _, step := range fold.Steps {
		result := step.Verdict.Result
		if prior[step.Verdict.ID] == result {
			continue
		}
		switch result {
		case trackingv1alpha1.ResultApplied:
			found.applied = append(found.applied, step)
		case trackingv1alpha1.ResultRejected:
			found.rejected = append(found.rejected, step)
		}
	}
}

// reconcileProofOfDelivery moves every staged proof-of-delivery file to its
// final place and lists it in status.proofOfDelivery, and reports the
// files stored and the failures that are news. It owns the
// ProofOfDeliveryStored condition. A file that fails verification or has
// vanished is a terminal failure (retrying cannot fix it); an unreachable
// object store is transient and returned, so the work queue backs off.
func (r *ParcelReconciler) reconcileProofOfDelivery(ctx context.Context, before, parcel *trackingv1alpha1.Parcel,
	found *report) error {
	stored := make(map[string]trackingv1alpha1.StoredProofOfDelivery, len(parcel.Status.ProofOfDelivery))
	for _, s := range parcel.Status.ProofOfDelivery {
		stored[s.EventID] = s
	}
	// An event's file may have come with a later repeat of it (a proof of
	// delivery sent after its scan); only the first file of each id counts.
	proofs := trackingv1alpha1.Proofs(parcel.Spec.Events)

	var (
		expected, done int
		transient      error
		failures       []string
		failureReason  string
	)
	for i := range parcel.Spec.Events {
		e := &parcel.Spec.Events[i]
		if j, ok := proofs[e.ID]; !ok || j != i {
			continue
		}
		expected++
		if s, ok := stored[e.ID]; ok && s.SHA256 == e.ProofOfDelivery.SHA256 {
			done++
			continue
		}
		if transient != nil {
			continue
		}
		s, err := r.movePOD(ctx, parcel, e)
		switch {
		case err == nil:
			done++
			parcel.Status.ProofOfDelivery = append(parcel.Status.ProofOfDelivery, s)
			found.stored = append(found.stored, s)
		case isTerminalPODError(err):
			failureReason = terminalPODReason(err)
			failures = append(failures, fmt.Sprintf("event %s: %v", e.ID, err))
		default:
			transient = fmt.Errorf("storing proof of delivery of event %s: %w", e.ID, err)
		}
	}

	if expected == 0 {
		meta.RemoveStatusCondition(&parcel.Status.Conditions, trackingv1alpha1.ConditionProofOfDeliveryStored)
		return nil
	}
	summary := fmt.Sprintf("%d of %d proof-of-delivery files stored", done, expected)
	switch {
	case len(failures) > 0:
		message := summary + "; " + strings.Join(failures, "; ")
		r.setCondition(parcel, trackingv1alpha1.ConditionProofOfDeliveryStored, metav1.ConditionFalse, failureReason, message)
		// The same failure on a later pass is not news: warn only when the
		// message differs from the one the status already carries.
		old := meta.FindStatusCondition(before.Status.Conditions, trackingv1alpha1.ConditionProofOfDeliveryStored)
		if old == nil || old.Message != message {
			found.podFailures = failures
		}
	case transient != nil:
		r.setCondition(parcel, trackingv1alpha1.ConditionProofOfDeliveryStored, metav1.ConditionFalse,
			trackingv1alpha1.ReasonStoreUnavailable, fmt.Sprintf("%s; %v", summary, transient))
	default:
		r.setCondition(parcel, trackingv1alpha1.ConditionProofOfDeliveryStored, metav1.ConditionTrue,
			trackingv1alpha1.ReasonStored, summary)
	}
	if transient != nil {
		return podError{transient}
	}
	return nil
}

// movePOD moves one staged file and counts the outcome.
func (r *ParcelReconciler) movePOD(ctx context.Context, parcel *trackingv1alpha1.Parcel,
	e *trackingv1alpha1.TrackingEvent) (trackingv1alpha1.StoredProofOfDelivery, error) {
	start := r.Clock.Now()
	s, err := r.Store.Move(ctx, podstore.MoveRequest{
		Namespace: parcel.Namespace,
		Parcel:    parcel.Name,
		ArticleID: parcel.Spec.ArticleID,
		EventID:   e.ID,
		Upload:    *e.ProofOfDelivery,
	})
	podMoves.WithLabelValues(moveResult(err)).Inc()
	if err != nil {
		return trackingv1alpha1.StoredProofOfDelivery{}, err
	}
	podMoveDuration.Observe(r.Clock.Since(start).Seconds())
	podBytesStored.Add(float64(s.Size))
	logf.FromContext(ctx).V(1).Info("stored proof of delivery", "event", e.ID, "key", s.Key, "bytes", s.Size)
	return trackingv1alpha1.StoredProofOfDelivery{
		EventID:  e.ID,
		URL:      s.URL,
		SHA256:   s.SHA256,
		Size:     s.Size,
		StoredAt: metav1.NewTime(r.Clock.Now()),
	}, nil
}

// reconcileReady sets Ready, Reconciling and Stalled from the other
// conditions, and marks the status as computed from the current generation
// and as answering the latest reconcile request.
func (r *ParcelReconciler) reconcileReady(parcel *trackingv1alpha1.Parcel, fold trackingv1alpha1.FoldResult) {
	parcel.Status.ObservedGeneration = parcel.Generation
	parcel.Status.LastHandledReconcileAt = parcel.Annotations[trackingv1alpha1.ReconcileRequestAnnotation]
	conds := &parcel.Status.Conditions
	pod := meta.FindStatusCondition(*conds, trackingv1alpha1.ConditionProofOfDeliveryStored)
	switch {
	case pod == nil || pod.Status == metav1.ConditionTrue:
		r.setCondition(parcel, trackingv1alpha1.ConditionReady, metav1.ConditionTrue, trackingv1alpha1.ReasonReconciled, summarize(fold))
		meta.RemoveStatusCondition(conds, trackingv1alpha1.ConditionReconciling)
		meta.RemoveStatusCondition(conds, trackingv1alpha1.ConditionStalled)
	case pod.Reason == trackingv1alpha1.ReasonStoreUnavailable:
		r.setCondition(parcel, trackingv1alpha1.ConditionReady, metav1.ConditionFalse, pod.Reason, pod.Message)
		r.setCondition(parcel, trackingv1alpha1.ConditionReconciling, metav1.ConditionTrue, pod.Reason, "retrying: "+pod.Message)
		meta.RemoveStatusCondition(conds, trackingv1alpha1.ConditionStalled)
	default:
		r.setCondition(parcel, trackingv1alpha1.ConditionReady, metav1.ConditionFalse, pod.Reason, pod.Message)
		r.setCondition(parcel, trackingv1alpha1.ConditionStalled, metav1.ConditionTrue, pod.Reason, pod.Message)
		meta.RemoveStatusCondition(conds, trackingv1alpha1.ConditionReconciling)
	}
}

// summarize states what the fold made of the events, for the Ready message.
func summarize(fold trackingv1alpha1.FoldResult) string {
	counts := map[trackingv1alpha1.EventResult]int{}
	for _, s := range fold.Steps {
		counts[s.Verdict.Result]++
	}
	return fmt.Sprintf("%s after %d events: %d applied, %d unchanged, %d rejected, %d duplicate",
		fold.Phase.DisplayName(), len(fold.Steps), counts[trackingv1alpha1.ResultApplied],
		counts[trackingv1alpha1.ResultUnchanged], counts[trackingv1alpha1.ResultRejected],
		counts[trackingv1alpha1.ResultDuplicate])
}

// setCondition sets a condition stamped with the parcel's generation; its
// transition time moves only when its status flips.
func (r *ParcelReconciler) setCondition(parcel *trackingv1alpha1.Parcel, conditionType string, status metav1.ConditionStatus,
	reason, message string) {
	meta.SetStatusCondition(&parcel.Status.Conditions, metav1.Condition{
		Type:               conditionType,
		Status:             status,
		Reason:             reason,
		Message:            message,
		ObservedGeneration: parcel.Generation,
		LastTransitionTime: metav1.NewTime(r.Clock.Now()),
	})
}

// reconcileFinalizer adds the cleanup finalizer when stored files are to be
// deleted with their Parcel, and removes it when the retention changed back.
func (r *ParcelReconciler) reconcileFinalizer(ctx context.Context, parcel *trackingv1alpha1.Parcel) error {
	want := r.OnDelete == retention.DeletePODFiles
	if want == controllerutil.ContainsFinalizer(parcel, PODCleanupFinalizer) {
		return nil
	}
	patch := client.MergeFromWithOptions(parcel.DeepCopy(), client.MergeFromWithOptimisticLock{})
	if want {
		controllerutil.AddFinalizer(parcel, PODCleanupFinalizer)
	} else {
		controllerutil.RemoveFinalizer(parcel, PODCleanupFinalizer)
	}
	return r.Patch(ctx, parcel, patch)
}

// reconcileDelete removes a deleted parcel's stored files, unless it was
// archived (--archive-after), then lets it go.
func (r *ParcelReconciler) reconcileDelete(ctx context.Context, parcel *trackingv1alpha1.Parcel) error {
	if !controllerutil.ContainsFinalizer(parcel, PODCleanupFinalizer) {
		return nil
	}
	// An archived parcel's files stay: its archive links to them.
	if !archivedParcel(parcel) {
		if err := r.Store.DeleteParcel(ctx, parcel.Namespace, parcel.Name); err != nil {
			return podError{fmt.Errorf("deleting stored proof-of-delivery files: %w", err)}
		}
	}
	patch := client.MergeFromWithOptions(parcel.DeepCopy(), client.MergeFromWithOptimisticLock{})
	controllerutil.RemoveFinalizer(parcel, PODCleanupFinalizer)
	if err := r.Patch(ctx, parcel, patch); err != nil {
		return client.IgnoreNotFound(err)
	}
	if !archivedParcel(parcel) && r.Events != EventsExceptions {
		r.Recorder.Eventf(parcel, nil, corev1.EventTypeNormal, trackingv1alpha1.EventProofOfDeliveryDeleted, actionDeletePODs,
			"stored proof-of-delivery files deleted with the parcel")
	}
	return nil
}

// patchStatus writes the status once, and only when it changed, under an
// optimistic lock: a merge patch from a stale copy would leave out a field
// that is equal in that copy and in the new status but differs on the
// server (a phase back to In Transit after Failed Delivery), so a copy
// older than the server's gets a conflict instead (see Reconcile).
func (r *ParcelReconciler) patchStatus(ctx context.Context, before, parcel *trackingv1alpha1.Parcel) error {
	if equality.Semantic.DeepEqual(before.Status, parcel.Status) {
		return nil
	}
	return r.Status().Patch(ctx, parcel, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{}))
}

// podError marks an error from the object store, so its Warning Event says
// ProofOfDeliveryFailed rather than a generic reconcile failure.
type podError struct{ err error }

func (e podError) Error() string { return e.err.Error() }
func (e podError) Unwrap() error { return e.err }

func warningReason(err error) string {
	var pe podError
	if errors.As(err, &pe) {
		return trackingv1alpha1.EventProofOfDeliveryFailed
	}
	return trackingv1alpha1.EventReconcileFailed
}

func isTerminalPODError(err error) bool {
	return errors.Is(err, podstore.ErrVerificationFailed) ||
		errors.Is(err, podstore.ErrStagedMissing) ||
		errors.Is(err, podstore.ErrInvalidKey)
}

func terminalPODReason(err error) string {
	switch {
	case errors.Is(err, podstore.ErrStagedMissing):
		return trackingv1alpha1.ReasonStagedObjectMissing
	case errors.Is(err, podstore.ErrInvalidKey):
		return trackingv1alpha1.ReasonInvalidStagingKey
	}
	return trackingv1alpha1.ReasonVerificationFailed
}

func moveResult(err error) string {
	switch {
	case err == nil:
		return moveStored
	case errors.Is(err, podstore.ErrVerificationFailed):
		return moveVerificationFailed
	case errors.Is(err, podstore.ErrStagedMissing):
		return moveStagedMissing
	case errors.Is(err, podstore.ErrInvalidKey):
		return moveInvalid
	}
	return moveStoreUnavailable
}

// SetupWithManager registers the reconciler. Only spec changes (a new
// generation) and reconcile requests trigger it, so its own status writes
// never loop back; and a Courier's new maxTimeInStatus, for the parcels it
// handles.
func (r *ParcelReconciler) SetupWithManager(mgr ctrl.Manager, maxConcurrentReconciles int) error {
	if err := indexParcelsByCourier(mgr); err != nil {
		return err
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&trackingv1alpha1.Parcel{}, builder.WithPredicates(
			predicate.Or[client.Object](predicate.GenerationChangedPredicate{}, reconcileRequested{}))).
		Watches(&trackingv1alpha1.Courier{}, r.courierParcels(), builder.WithPredicates(maxTimeInStatusChanged)).
		WithOptions(controller.Options{
			MaxConcurrentReconciles: maxConcurrentReconciles,
			RateLimiter:             workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](retryBaseDelay, retryMaxDelay),
		}).
		Named("parcel").
		Complete(r)
}
