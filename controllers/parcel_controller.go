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
	"slices"
	"strings"
	"sync"
	"time"
	"unique"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	kerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
	"github.com/parcelops/parcel-operator/internal/podstore"
)

// PODRetention says what happens to a parcel's stored proof-of-delivery
// files when the Parcel is deleted.
type PODRetention string

const (
	// PODRetentionRetain keeps the files: a proof of delivery is a legal
	// record that outlives the tracking object.
	PODRetentionRetain PODRetention = "Retain"
	// PODRetentionDelete removes the files before the Parcel goes, through a
	// finalizer.
	PODRetentionDelete PODRetention = "Delete"
)

// PODCleanupFinalizer holds a Parcel until its stored proof-of-delivery
// files are deleted; set only with PODRetentionDelete.
const PODCleanupFinalizer = "tracking.parcelops.io/pod-cleanup"

// Retry pacing for transient failures (object store or API server
// unreachable): quick at first, never more than a couple of minutes apart.
const (
	retryBaseDelay = time.Second
	retryMaxDelay  = 2 * time.Minute
)

// Actions of the Kubernetes Events recorded on a Parcel. events.k8s.io
// merges Events with the same regarding object, reason and action into one
// series and keeps only the first note, so each distinct fact gets its own
// action: a transition is named by its statuses, a stored file by its event.
const (
	actionReconcile  = "Reconcile"
	actionDeletePODs = "DeleteProofOfDelivery"
)

// transitionAction names a transition, e.g. "InTransit->Delivered".
func transitionAction(from, to trackingv1alpha1.TrackingStatus) string {
	return string(from) + "->" + string(to)
}

// storeAction names the storing of one event's file.
func storeAction(eventID string) string {
	return "StoreProofOfDelivery:" + eventID
}

// ParcelReconciler derives each Parcel's status from its events, records
// what changed as Kubernetes Events, and moves staged proof-of-delivery
// files into their final place in object storage.
type ParcelReconciler struct {
	client.Client
	// Recorder records events.k8s.io Events on Parcels.
	Recorder events.EventRecorder
	// Store holds the proof-of-delivery files.
	Store *podstore.Store
	// Transitions is the graph the fold enforces.
	Transitions *trackingv1alpha1.TransitionGraph
	// Retention decides the fate of stored files when a Parcel is deleted.
	Retention PODRetention
	// Clock stamps condition transitions and storage times.
	Clock clock.PassiveClock

	// memos hold what this process did to each Parcel; see memo.
	memosMu sync.Mutex
	memos   map[types.NamespacedName]memo
}

// memo is what this process last did to one Parcel (one UID: a Parcel
// deleted and created again under its name starts afresh). The cache can
// still show a Parcel as it was before this process's last status write
// when the next change arrives (two appends in quick succession). A status
// computed from that copy would be patched against a stale base, leaving
// out a field that is equal there and in the new status but not on the
// server (a phase back to In Transit after Failed Delivery), and its
// Events would be recorded twice.
type memo struct {
	uid types.UID
	// reconciled is the generation last reconciled without error: an
	// event for it again (the cache catching up) needs no reconcile.
	reconciled int64
	// written is the observedGeneration of the status last written, at
	// writtenAt: a cached copy whose status is older is stale, and waited
	// for, up to cacheLagLimit (someone else may have written the status).
	written   int64
	writtenAt time.Time
}

// A reconcile that finds the cache behind this process's own last status
// write tries again after cacheLagRetry, for up to cacheLagLimit after the
// write.
const (
	cacheLagRetry = 100 * time.Millisecond
	cacheLagLimit = 10 * time.Second
)

// +kubebuilder:rbac:groups=tracking.parcelops.io,resources=parcels,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=tracking.parcelops.io,resources=parcels/status,verbs=get;patch
// +kubebuilder:rbac:groups=tracking.parcelops.io,resources=parcels/finalizers,verbs=update
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile brings one Parcel's status in line with its events.
func (r *ParcelReconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, retErr error) {
	parcel := &trackingv1alpha1.Parcel{}
	if err := r.Get(ctx, req.NamespacedName, parcel); err != nil {
		if apierrors.IsNotFound(err) {
			r.forget(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if m, ok := r.memo(req.NamespacedName, parcel.UID); ok && parcel.DeletionTimestamp.IsZero() {
		switch {
		case m.reconciled == parcel.Generation && !r.overdueStale(ctx, parcel):
			return ctrl.Result{}, nil
		case parcel.Status.ObservedGeneration < m.written && r.Clock.Since(m.writtenAt) < cacheLagLimit:
			return ctrl.Result{RequeueAfter: cacheLagRetry}, nil
		}
	}
	before := parcel.DeepCopy()

	defer func() {
		if parcel.DeletionTimestamp.IsZero() {
			if err := r.patchStatus(ctx, before, parcel); err != nil {
				retErr = kerrors.NewAggregate([]error{retErr, err})
			} else {
				// The generation read, not the one the patch answered with:
				// a spec written meanwhile is not reconciled yet.
				r.remember(req.NamespacedName, parcel.UID, parcel.Status.ObservedGeneration, retErr == nil)
				r.recordOverdue(before, parcel)
			}
		}
		if retErr != nil {
			r.Recorder.Eventf(parcel, nil, corev1.EventTypeWarning, warningReason(retErr), actionReconcile, "%v", retErr)
		}
	}()

	if !parcel.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, r.reconcileDelete(ctx, parcel)
	}
	if err := r.reconcileFinalizer(ctx, parcel); err != nil {
		return ctrl.Result{}, err
	}
	podErr := r.reconcile(ctx, before, parcel)
	// Overdue has its own step and file (overdue.go), after the phase it measures.
	overdue, err := r.reconcileOverdue(ctx, parcel)
	if podErr != nil {
		return ctrl.Result{}, podErr
	}
	return overdue, err
}

// reconcile runs the steps in order; each owns a part of the status.
func (r *ParcelReconciler) reconcile(ctx context.Context, before, parcel *trackingv1alpha1.Parcel) error {
	fold := r.Transitions.Fold(parcel.Spec.Events)
	r.reconcilePhase(before, parcel, fold)
	podErr := r.reconcileProofOfDelivery(ctx, before, parcel, fold)
	r.reconcileReady(parcel, fold)
	return podErr
}

// reconcilePhase writes the fold's verdict into phase, lastEventTime and
// history, and records an Event for each transition newly applied or newly
// rejected since the status was last written.
func (r *ParcelReconciler) reconcilePhase(before, parcel *trackingv1alpha1.Parcel, fold trackingv1alpha1.FoldResult) {
	parcel.Status.Phase = fold.Phase
	parcel.Status.LastEventTime = fold.LastEventTime
	parcel.Status.History = fold.History()

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
			transitionsApplied.WithLabelValues(string(step.From), string(step.To)).Inc()
			r.Recorder.Eventf(parcel, nil, corev1.EventTypeNormal, trackingv1alpha1.EventStatusChanged, transitionAction(step.From, step.To),
				"%s -> %s", step.From.DisplayName(), step.To.DisplayName())
		case trackingv1alpha1.ResultRejected:
			transitionsRejected.WithLabelValues(string(step.From), string(step.To)).Inc()
			r.Recorder.Eventf(parcel, nil, corev1.EventTypeWarning, trackingv1alpha1.EventTransitionRejected, transitionAction(step.From, step.To),
				"event %s: %s", step.Verdict.ID, step.Verdict.Reason)
		}
	}
}

// reconcileProofOfDelivery moves every staged proof-of-delivery file to its
// final place and lists it in status.proofOfDelivery. It owns the
// ProofOfDeliveryStored condition. A file that fails verification or has
// vanished is a terminal failure (retrying cannot fix it); an unreachable
// object store is transient and returned, so the work queue backs off.
func (r *ParcelReconciler) reconcileProofOfDelivery(ctx context.Context, before, parcel *trackingv1alpha1.Parcel,
	fold trackingv1alpha1.FoldResult) error {
	stored := make(map[string]trackingv1alpha1.StoredProofOfDelivery, len(parcel.Status.ProofOfDelivery))
	for _, s := range parcel.Status.ProofOfDelivery {
		stored[s.EventID] = s
	}
	duplicate := make(map[int]bool)
	for _, step := range fold.Steps {
		if step.Verdict.Result == trackingv1alpha1.ResultDuplicate {
			duplicate[step.Index] = true
		}
	}

	var (
		expected, done int
		transient      error
		failures       []string
		failureReason  string
	)
	for i := range parcel.Spec.Events {
		e := &parcel.Spec.Events[i]
		if e.ProofOfDelivery == nil || duplicate[i] {
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
			r.Recorder.Eventf(parcel, nil, corev1.EventTypeNormal, trackingv1alpha1.EventProofOfDeliveryStored, storeAction(e.ID),
				"event %s: %d bytes stored at %s", e.ID, s.Size, s.URL)
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
		if old := meta.FindStatusCondition(before.Status.Conditions, trackingv1alpha1.ConditionProofOfDeliveryStored); old == nil || old.Message != message {
			r.Recorder.Eventf(parcel, nil, corev1.EventTypeWarning, trackingv1alpha1.EventProofOfDeliveryFailed, actionReconcile,
				"%s", strings.Join(failures, "; "))
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
func (r *ParcelReconciler) movePOD(ctx context.Context, parcel *trackingv1alpha1.Parcel, e *trackingv1alpha1.TrackingEvent) (trackingv1alpha1.StoredProofOfDelivery, error) {
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
// conditions, and marks the status as computed from the current generation.
func (r *ParcelReconciler) reconcileReady(parcel *trackingv1alpha1.Parcel, fold trackingv1alpha1.FoldResult) {
	parcel.Status.ObservedGeneration = parcel.Generation
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
func (r *ParcelReconciler) setCondition(parcel *trackingv1alpha1.Parcel, conditionType string, status metav1.ConditionStatus, reason, message string) {
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
	want := r.Retention == PODRetentionDelete
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
// archived (--delivered-retention), then lets it go.
func (r *ParcelReconciler) reconcileDelete(ctx context.Context, parcel *trackingv1alpha1.Parcel) error {
	if !controllerutil.ContainsFinalizer(parcel, PODCleanupFinalizer) {
		return nil
	}
	// An archived parcel's files stay: its archive links to them.
	if !archivedParcel(parcel) {
		if err := r.Store.DeleteParcel(ctx, parcel.Namespace, parcel.Name); err != nil {
			return podError{fmt.Errorf("deleting stored proof-of-delivery files: %w", err)}
		}
		r.Recorder.Eventf(parcel, nil, corev1.EventTypeNormal, trackingv1alpha1.EventProofOfDeliveryDeleted, actionDeletePODs,
			"stored proof-of-delivery files deleted with the parcel")
	}
	patch := client.MergeFromWithOptions(parcel.DeepCopy(), client.MergeFromWithOptimisticLock{})
	controllerutil.RemoveFinalizer(parcel, PODCleanupFinalizer)
	return client.IgnoreNotFound(r.Patch(ctx, parcel, patch))
}

// memo returns what this process last did to the Parcel with uid.
func (r *ParcelReconciler) memo(key types.NamespacedName, uid types.UID) (memo, bool) {
	r.memosMu.Lock()
	defer r.memosMu.Unlock()
	m, ok := r.memos[key]
	return m, ok && m.uid == uid
}

// remember notes that the status of generation is written, and whether
// the generation was reconciled without error.
func (r *ParcelReconciler) remember(key types.NamespacedName, uid types.UID, generation int64, reconciled bool) {
	r.memosMu.Lock()
	defer r.memosMu.Unlock()
	if r.memos == nil {
		r.memos = map[types.NamespacedName]memo{}
	}
	m := memo{uid: uid, written: generation, writtenAt: r.Clock.Now()}
	if reconciled {
		m.reconciled = generation
	}
	r.memos[key] = m
}

// forget drops a Parcel that is gone.
func (r *ParcelReconciler) forget(key types.NamespacedName) {
	r.memosMu.Lock()
	defer r.memosMu.Unlock()
	delete(r.memos, key)
}

// patchStatus writes the status once, and only when it changed.
func (r *ParcelReconciler) patchStatus(ctx context.Context, before, parcel *trackingv1alpha1.Parcel) error {
	if equality.Semantic.DeepEqual(before.Status, parcel.Status) {
		return nil
	}
	return r.Status().Patch(ctx, parcel, client.MergeFrom(before))
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
// generation) trigger it, so its own status writes never loop back; and a
// Courier's new maxTimeInStatus, for the parcels it handles.
func (r *ParcelReconciler) SetupWithManager(mgr ctrl.Manager, maxConcurrentReconciles int) error {
	if err := indexParcelsByCourier(mgr); err != nil {
		return err
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&trackingv1alpha1.Parcel{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&trackingv1alpha1.Courier{}, r.courierParcels(), builder.WithPredicates(maxTimeInStatusChanged)).
		WithOptions(controller.Options{
			MaxConcurrentReconciles: maxConcurrentReconciles,
			RateLimiter:             workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](retryBaseDelay, retryMaxDelay),
		}).
		Named("parcel").
		Complete(r)
}

// TransformParcelForCache trims a Parcel before the manager's cache keeps
// it, without changing any value: managedFields go (nothing reads them),
// the strings thousands of Parcels repeat (namespace, statuses, sources,
// verdicts, condition types, reasons and messages) are shared instead of
// held once per object, and lists are cut to their length (JSON decoding
// leaves spare capacity, e.g. four conditions' room for one). Other objects
// only lose their managedFields.
func TransformParcelForCache(obj any) (any, error) {
	p, ok := obj.(*trackingv1alpha1.Parcel)
	if !ok {
		return cache.TransformStripManagedFields()(obj)
	}
	p.ManagedFields = nil
	p.Namespace = unique.Make(p.Namespace).Value()
	p.Spec.Events = slices.Clone(p.Spec.Events)
	for i := range p.Spec.Events {
		e := &p.Spec.Events[i]
		e.Status = unique.Make(e.Status).Value()
		e.Source = unique.Make(e.Source).Value()
	}
	p.Status.Phase = unique.Make(p.Status.Phase).Value()
	p.Status.History = slices.Clone(p.Status.History)
	for i := range p.Status.History {
		v := &p.Status.History[i]
		v.Result = unique.Make(v.Result).Value()
		v.Reason = unique.Make(v.Reason).Value()
	}
	p.Status.ProofOfDelivery = slices.Clone(p.Status.ProofOfDelivery)
	p.Status.Conditions = slices.Clone(p.Status.Conditions)
	for i := range p.Status.Conditions {
		c := &p.Status.Conditions[i]
		c.Type = unique.Make(c.Type).Value()
		c.Status = unique.Make(c.Status).Value()
		c.Reason = unique.Make(c.Reason).Value()
		c.Message = unique.Make(c.Message).Value()
	}
	return p, nil
}
