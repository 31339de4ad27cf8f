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
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	kerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/source"
	"sigs.k8s.io/yaml"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
	"github.com/parcelops/parcel-operator/internal/notify"
)

// DefaultSecretRefresh is how often a Subscription's Secrets are read again,
// so a rotated key is picked up without touching the Subscription.
const DefaultSecretRefresh = time.Minute

// reservedHeaders are set by the notifier and cannot be overridden by a
// Subscription's extra headers.
var reservedHeaders = []string{"Content-Type", "Content-Length", "Host", "User-Agent", "Authorization",
	notify.HeaderID, notify.HeaderTimestamp, notify.HeaderSignature}

// SubscriptionReconciler configures the Notifier from each Subscription and
// writes what the Notifier reports into its status, checkpoint included. It
// is the only writer of a Subscription's status; the Notifier asks for a
// reconcile at most once per Tick per Subscription, so delivery costs no
// API write per message.
type SubscriptionReconciler struct {
	client.Client
	// APIReader reads Secrets: the manager's cache holds only courier
	// Secrets.
	APIReader client.Reader
	// Recorder records events.k8s.io Events on Subscriptions.
	Recorder events.EventRecorder
	// Notifier delivers the notifications.
	Notifier *notify.Notifier
	// Clock stamps conditions and status.lastUpdateTime.
	Clock clock.PassiveClock
	// SecretRefresh is how often the Secrets are read again; 0 is
	// DefaultSecretRefresh.
	SecretRefresh time.Duration
}

// +kubebuilder:rbac:groups=tracking.parcelops.io,resources=subscriptions,verbs=get;list;watch
// +kubebuilder:rbac:groups=tracking.parcelops.io,resources=subscriptions/status,verbs=get;patch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get

// Reconcile brings the Notifier and one Subscription's status in line.
func (r *SubscriptionReconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, retErr error) {
	sub := &trackingv1alpha1.Subscription{}
	if err := r.Get(ctx, req.NamespacedName, sub); err != nil {
		if apierrors.IsNotFound(err) {
			r.Notifier.Remove(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !sub.DeletionTimestamp.IsZero() {
		r.Notifier.Remove(req.NamespacedName)
		return ctrl.Result{}, nil
	}
	before := sub.DeepCopy()
	var notes []note

	defer func() {
		if err := r.patchStatus(ctx, before, sub); err != nil {
			retErr = kerrors.NewAggregate([]error{retErr, err})
		} else {
			// Events only once the status that reports them is stored.
			for _, n := range append(notes, changeNotes(before, sub)...) {
				r.Recorder.Eventf(sub, nil, n.kind, n.reason, n.action, "%s", n.message)
			}
		}
		if retErr != nil {
			r.Recorder.Eventf(sub, nil, corev1.EventTypeWarning, trackingv1alpha1.EventSubscriptionInvalid, "Reconcile", "%v", retErr)
		}
	}()

	refresh := r.SecretRefresh
	if refresh == 0 {
		refresh = DefaultSecretRefresh
	}
	n, err := r.reconcile(ctx, before, sub)
	notes = n
	return ctrl.Result{RequeueAfter: refresh}, err
}

// note is an Event to record once the status is written.
type note struct {
	kind, reason, action, message string
}

// reconcile runs the steps in order.
func (r *SubscriptionReconciler) reconcile(ctx context.Context, before, sub *trackingv1alpha1.Subscription) ([]note, error) {
	configErr, err := r.reconcileEndpoint(ctx, sub)
	if err != nil {
		return nil, err
	}
	notes, err := r.reconcileResend(ctx, sub)
	if err != nil {
		return notes, err
	}
	return append(notes, r.reconcileStatus(before, sub, configErr)...), nil
}

// reconcileEndpoint reads the Secrets and configures the Notifier. A
// Secret that cannot serve is a terminal configuration error, returned
// first (Ready=False, SecretInvalid); the notifier then queues without
// sending. The second error is transient.
func (r *SubscriptionReconciler) reconcileEndpoint(ctx context.Context, sub *trackingv1alpha1.Subscription) (error, error) {
	sub.Status.Host = ""
	if u, err := url.Parse(sub.Spec.URL); err == nil {
		sub.Status.Host = u.Host
	}
	ep, configErr := r.endpoint(ctx, sub)
	var invalid *invalidSecretError
	if configErr != nil && !errors.As(configErr, &invalid) {
		return nil, configErr
	}
	if err := r.Notifier.Configure(sub, ep); err != nil {
		return nil, err
	}
	return configErr, nil
}

// invalidSecretError says what is wrong with a Subscription's Secret.
type invalidSecretError struct{ msg string }

func (e *invalidSecretError) Error() string { return e.msg }

func invalidSecret(format string, args ...any) error {
	return &invalidSecretError{msg: fmt.Sprintf(format, args...)}
}

// endpoint builds the Notifier's endpoint from the spec and Secrets. Error
// messages name the Secret and key, never a value.
func (r *SubscriptionReconciler) endpoint(ctx context.Context, sub *trackingv1alpha1.Subscription) (*notify.Endpoint, error) {
	secret, err := r.secret(ctx, sub.Namespace, sub.Spec.SecretRef.Name)
	if err != nil {
		return nil, err
	}
	ep := &notify.Endpoint{URL: sub.Spec.URL, Timeout: sub.TimeoutOrDefault(), Token: string(secret.Data[trackingv1alpha1.SubscriptionToken])}
	current, ok := secret.Data[trackingv1alpha1.SubscriptionSigningKey]
	if !ok {
		return nil, invalidSecret("Secret %q has no %s", secret.Name, trackingv1alpha1.SubscriptionSigningKey)
	}
	key, err := notify.ParseKey(string(current))
	if err != nil {
		return nil, invalidSecret("Secret %q %s: %v", secret.Name, trackingv1alpha1.SubscriptionSigningKey, err)
	}
	keys := [][]byte{key}
	if previous, ok := secret.Data[trackingv1alpha1.SubscriptionSigningKeyPrevious]; ok {
		old, err := notify.ParseKey(string(previous))
		if err != nil {
			return nil, invalidSecret("Secret %q %s: %v", secret.Name, trackingv1alpha1.SubscriptionSigningKeyPrevious, err)
		}
		keys = append(keys, old)
	}
	ep.Signer = notify.NewSigner(keys...)
	if raw, ok := secret.Data[trackingv1alpha1.SubscriptionHeaders]; ok {
		if ep.Headers, err = parseHeaders(raw); err != nil {
			return nil, invalidSecret("Secret %q %s: %v", secret.Name, trackingv1alpha1.SubscriptionHeaders, err)
		}
	}
	if ref := sub.Spec.CASecretRef; ref != nil {
		ca, err := r.secret(ctx, sub.Namespace, ref.Name)
		if err != nil {
			return nil, err
		}
		bundle := ca.Data[trackingv1alpha1.SubscriptionCABundle]
		if !x509.NewCertPool().AppendCertsFromPEM(bundle) {
			return nil, invalidSecret("Secret %q %s holds no PEM certificate", ca.Name, trackingv1alpha1.SubscriptionCABundle)
		}
		ep.CABundle = bundle
	}
	return ep, nil
}

func (r *SubscriptionReconciler) secret(ctx context.Context, namespace, name string) (*corev1.Secret, error) {
	secret := &corev1.Secret{}
	if err := r.APIReader.Get(ctx, types.NamespacedName{Namespace: namespace, Name: name}, secret); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, invalidSecret("Secret %q not found", name)
		}
		return nil, fmt.Errorf("reading Secret %q: %w", name, err)
	}
	return secret, nil
}

// parseHeaders reads a YAML (or JSON) map of header names to values.
func parseHeaders(raw []byte) (http.Header, error) {
	var m map[string]string
	if err := yaml.UnmarshalStrict(raw, &m); err != nil {
		return nil, errors.New("want a YAML map of header names to values")
	}
	h := http.Header{}
	for name, value := range m {
		canonical := http.CanonicalHeaderKey(name)
		if !validHeaderName(name) || strings.ContainsAny(value, "\r\n\x00") {
			return nil, fmt.Errorf("header %q is not a valid header name and value", name)
		}
		for _, reserved := range reservedHeaders {
			if strings.EqualFold(canonical, reserved) {
				return nil, fmt.Errorf("header %q is set by the operator", name)
			}
		}
		h.Set(canonical, value)
	}
	return h, nil
}

// validHeaderName reports whether name is an RFC 9110 token.
func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for _, c := range name {
		if c > 0x7e || c <= ' ' || strings.ContainsRune("\"(),/:;<=>?@[\\]{}", c) {
			return false
		}
	}
	return true
}

// reconcileResend acts on the resend annotation: the parcel's
// notifications are queued once, and status.lastHandledResend takes the
// value once they are all handled, so a restart before that asks again.
func (r *SubscriptionReconciler) reconcileResend(ctx context.Context, sub *trackingv1alpha1.Subscription) ([]note, error) {
	value := sub.Annotations[trackingv1alpha1.ResendAnnotation]
	if value == "" || value == sub.Status.LastHandledResend {
		return nil, nil
	}
	parcel, _, _ := strings.Cut(value, "@")
	name := types.NamespacedName{Namespace: sub.Namespace, Name: sub.Name}
	queued, err := r.Notifier.Resend(ctx, name, parcel, value)
	if apierrors.IsNotFound(errors.Unwrap(err)) {
		// Nothing to send; say so once and consider it handled.
		sub.Status.LastHandledResend = value
		return []note{{corev1.EventTypeWarning, trackingv1alpha1.EventResendQueued, "Resend",
			fmt.Sprintf("resend %q: parcel %q not found", value, parcel)}}, nil
	}
	if err != nil {
		return nil, err
	}
	if !queued {
		return nil, nil
	}
	return []note{{corev1.EventTypeNormal, trackingv1alpha1.EventResendQueued, "Resend",
		fmt.Sprintf("notifications of parcel %q queued again", parcel)}}, nil
}

// reconcileStatus writes what the Notifier reports, and owns Ready. It
// returns the Event for notifications newly refused for good.
func (r *SubscriptionReconciler) reconcileStatus(before, sub *trackingv1alpha1.Subscription, configErr error) []note {
	name := types.NamespacedName{Namespace: sub.Namespace, Name: sub.Name}
	st, _ := r.Notifier.Snapshot(name)
	s := &sub.Status
	s.ObservedGeneration = sub.Generation
	s.Delivered, s.Failed, s.Dropped, s.Backlog = st.Delivered, st.Failed, st.Dropped, st.Backlog
	s.LastStatusCode = int32(min(max(st.LastCode, 0), 999)) //nolint:gosec // bounded just above
	s.LastError = truncateMessage(st.LastError, 1024)
	s.LastDeliveryTime = optionalTime(st.LastDelivery)
	s.Checkpoint = optionalTime(st.Checkpoint)
	if st.ResendDone != "" && st.ResendDone == sub.Annotations[trackingv1alpha1.ResendAnnotation] {
		s.LastHandledResend = st.ResendDone
	}

	status, reason, message := metav1.ConditionTrue, trackingv1alpha1.ReasonSubscriberAnswering,
		fmt.Sprintf("%d delivered, %d waiting", st.Delivered, st.Backlog)
	switch {
	case configErr != nil:
		status, reason, message = metav1.ConditionFalse, trackingv1alpha1.ReasonSubscriptionSecretInvalid, configErr.Error()
	case sub.Spec.Suspend:
		status, reason, message = metav1.ConditionFalse, trackingv1alpha1.ReasonSuspended,
			fmt.Sprintf("delivery suspended; %d waiting", st.Backlog)
	case st.State == notify.StateRefused:
		status, reason, message = metav1.ConditionFalse, trackingv1alpha1.ReasonEndpointRefused, st.LastError
	case st.State == notify.StateFailing:
		status, reason, message = metav1.ConditionFalse, trackingv1alpha1.ReasonSubscriberFailing,
			fmt.Sprintf("%d waiting, retrying: %s", st.Backlog, st.LastError)
	case st.State == notify.StateWindowExceeded:
		status, reason, message = metav1.ConditionFalse, trackingv1alpha1.ReasonRetryWindowExceeded,
			fmt.Sprintf("%d dropped after retrying for %s; retrying newer ones: %s", st.Dropped, sub.RetryWindowOrDefault(), st.LastError)
	}
	meta.SetStatusCondition(&s.Conditions, metav1.Condition{
		Type:               trackingv1alpha1.ConditionReady,
		Status:             status,
		Reason:             reason,
		Message:            truncateMessage(message, 32768),
		ObservedGeneration: sub.Generation,
		LastTransitionTime: metav1.NewTime(r.Clock.Now()),
	})
	s.LastUpdateTime = before.Status.LastUpdateTime
	if !equality.Semantic.DeepEqual(before.Status, sub.Status) {
		s.LastUpdateTime = optionalTime(r.Clock.Now())
	}
	if n := s.Failed - before.Status.Failed; n > 0 {
		return []note{{corev1.EventTypeWarning, trackingv1alpha1.EventDeliveryFailed, "Deliver",
			fmt.Sprintf("%d notifications refused for good: %s", n, truncateMessage(st.LastRefusal, 1024))}}
	}
	return nil
}

// changeNotes are the Events a status change reports: drops and
// recoveries, found by comparing with the status before.
func changeNotes(before, sub *trackingv1alpha1.Subscription) []note {
	var notes []note
	if n := sub.Status.Dropped - before.Status.Dropped; n > 0 {
		notes = append(notes, note{corev1.EventTypeWarning, trackingv1alpha1.EventBacklogDropped, "Drop",
			fmt.Sprintf("%d notifications dropped after retrying for %s", n, sub.RetryWindowOrDefault())})
	}
	was := meta.FindStatusCondition(before.Status.Conditions, trackingv1alpha1.ConditionReady)
	now := meta.FindStatusCondition(sub.Status.Conditions, trackingv1alpha1.ConditionReady)
	if was != nil && now != nil && now.Reason == trackingv1alpha1.ReasonSubscriberAnswering &&
		(was.Reason == trackingv1alpha1.ReasonSubscriberFailing || was.Reason == trackingv1alpha1.ReasonRetryWindowExceeded ||
			was.Reason == trackingv1alpha1.ReasonEndpointRefused) {
		notes = append(notes, note{corev1.EventTypeNormal, trackingv1alpha1.EventDeliveryResumed, "Deliver",
			"the subscriber answers again"})
	}
	return notes
}

func optionalTime(t time.Time) *metav1.Time {
	if t.IsZero() {
		return nil
	}
	mt := metav1.NewTime(t)
	return &mt
}

func truncateMessage(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n-3], "") + "..."
}

// patchStatus writes the status once, and only when it changed.
func (r *SubscriptionReconciler) patchStatus(ctx context.Context, before, sub *trackingv1alpha1.Subscription) error {
	if equality.Semantic.DeepEqual(before.Status, sub.Status) {
		return nil
	}
	return r.Status().Patch(ctx, sub, client.MergeFrom(before))
}

// SetupWithManager registers the reconciler and the Notifier. Spec and
// annotation changes trigger it, and the Notifier's reports; its own
// status writes do not.
func (r *SubscriptionReconciler) SetupWithManager(mgr ctrl.Manager) error {
	reports := make(chan event.TypedGenericEvent[*trackingv1alpha1.Subscription], 64)
	r.Notifier.Changed = func(ctx context.Context, name types.NamespacedName) {
		obj := &trackingv1alpha1.Subscription{ObjectMeta: metav1.ObjectMeta{Namespace: name.Namespace, Name: name.Name}}
		select {
		case reports <- event.TypedGenericEvent[*trackingv1alpha1.Subscription]{Object: obj}:
		case <-ctx.Done():
		}
	}
	if err := mgr.Add(r.Notifier); err != nil {
		return fmt.Errorf("adding the notifier: %w", err)
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&trackingv1alpha1.Subscription{}, builder.WithPredicates(
			predicate.Or(predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		WatchesRawSource(source.Channel(reports, &handler.TypedEnqueueRequestForObject[*trackingv1alpha1.Subscription]{})).
		Named("subscription").
		Complete(r)
}
