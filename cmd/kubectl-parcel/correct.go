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

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
)

// maxSourceLength is the API's bound on an event's source.
const maxSourceLength = 253

type correctOptions struct {
	status string
	reason string
	time   string
}

func newCorrectCommand(o *options) *cobra.Command {
	co := &correctOptions{}
	cmd := &cobra.Command{
		Use:   "correct ARTICLE_ID|NAME --status STATUS --reason TEXT [--time T]",
		Short: "Append a forced event: set a parcel's status by hand, as yourself",
		Long: `Append a forced event to a parcel: it applies even where the transition
graph would refuse it. Its source is your user name as the API server
knows it (SelfSubjectReview), its remarks the reason you give. STATUS takes
the spellings couriers use ("Return to Depot", "RD", "ReturnToDepot", ...).

The correction is refused when the parcel is already in that status. The
event is appended with one JSON patch, the way the courier API appends, so
it never overwrites an event a courier sends meanwhile. The fold's verdict
is printed; with --time before later events, those still come after it.`,
		Example: `  # Mark a parcel returned to the depot, now
  kubectl parcel correct ARP1000052447 --status "Return to Depot" --reason "driver returned it, scanner broken"

  # Record a delivery that was not scanned, at the time it happened
  kubectl parcel correct ARP1000052447 --status Delivered --reason "signed paper POD" --time 2025-10-08T10:15:00Z`,
		Args: exactArgs(1, "ARTICLE_ID|NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.correct(cmd, args[0], co)
		},
	}
	cmd.Flags().StringVar(&co.status, "status", "", "The status to set, in any spelling couriers use (required).")
	cmd.Flags().StringVar(&co.reason, "reason", "", "Why, in words: recorded as the event's remarks (required).")
	cmd.Flags().StringVar(&co.time, "time", "", "When it happened, RFC 3339 (2025-10-08T10:15:00Z); default now.")
	return cmd
}

func (o *options) correct(cmd *cobra.Command, ref string, co *correctOptions) error {
	status, eventTime, err := co.validate(o.now())
	if err != nil {
		return err
	}
	ctx, cancel := o.context(cmd)
	defer cancel()
	c, err := o.client()
	if err != nil {
		return err
	}
	ns, err := o.namespace()
	if err != nil {
		return err
	}
	p, err := getParcel(ctx, c, ns, ref)
	if err != nil {
		return err
	}
	// The spec decides, not the status: the status may not cover the
	// newest events yet.
	before := trackingv1alpha1.DefaultTransitions.Fold(p.Spec.Events)
	if before.Phase == status {
		return fmt.Errorf("parcel %s/%s (%s) is already %s; nothing to correct", p.Namespace, p.Name, p.Spec.ArticleID,
			status.DisplayName())
	}
	if len(p.Spec.Events) >= trackingv1alpha1.MaxEvents {
		return fmt.Errorf("parcel %s/%s holds %d events, the most a Parcel can; no correction can be appended",
			p.Namespace, p.Name, len(p.Spec.Events))
	}
	user, err := whoAmI(ctx, c)
	if err != nil {
		return err
	}
	if len(user) > maxSourceLength {
		return fmt.Errorf("your user name is %d characters long; an event's source holds at most %d", len(user), maxSourceLength)
	}
	id := trackingv1alpha1.DeriveEventID(p.Spec.ArticleID, status, eventTime)
	for _, e := range p.Spec.Events {
		if e.ID == id {
			return fmt.Errorf("parcel %s/%s already has an event %s for %s at %s; pick another --time",
				p.Namespace, p.Name, id, status.DisplayName(), timestamp(eventTime))
		}
	}
	event := trackingv1alpha1.TrackingEvent{
		ID:         id,
		Status:     status,
		Time:       metav1.NewTime(eventTime),
		ReceivedAt: &metav1.Time{Time: o.now().UTC().Truncate(time.Second)},
		Remarks:    co.reason,
		Source:     user,
		Force:      true,
	}
	if err := appendEvent(cmd, c, p, event); err != nil {
		return err
	}

	after := trackingv1alpha1.DefaultTransitions.Fold(p.Spec.Events)
	for _, step := range after.Steps {
		if step.Index != len(p.Spec.Events)-1 {
			continue
		}
		msg := fmt.Sprintf("parcel %s/%s: event %s recorded as %s: %s", p.Namespace, p.Name, id, user,
			strings.ToLower(string(step.Verdict.Result)))
		if step.Verdict.Result == trackingv1alpha1.ResultApplied {
			msg += fmt.Sprintf(", %s -> %s (forced)", step.From.DisplayName(), step.To.DisplayName())
		}
		msg += "; phase now " + after.Phase.DisplayName()
		if after.Phase != status {
			msg += " (events after " + timestamp(eventTime) + " moved it on)"
		}
		_, err := fmt.Fprintln(o.streams.Out, msg)
		return err
	}
	return fmt.Errorf("event %s is not in parcel %s/%s after appending it", id, p.Namespace, p.Name)
}

// validate parses the flags: a status couriers could send, a reason the API
// accepts, and a time (now unless given), in whole seconds as the API keeps
// them.
func (co *correctOptions) validate(now time.Time) (trackingv1alpha1.TrackingStatus, time.Time, error) {
	if co.status == "" {
		return "", time.Time{}, errors.New(`--status is required, e.g. --status "Return to Depot"`)
	}
	status, err := trackingv1alpha1.ParseTrackingStatus(co.status)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("--status: %w", err)
	}
	switch reason := strings.TrimSpace(co.reason); {
	case reason == "":
		return "", time.Time{}, errors.New(`--reason is required: say why, e.g. --reason "driver returned it"`)
	case len(co.reason) > trackingv1alpha1.MaxRemarksLength:
		return "", time.Time{}, fmt.Errorf("--reason is %d bytes long; at most %d are allowed", len(co.reason),
			trackingv1alpha1.MaxRemarksLength)
	}
	t := now
	if co.time != "" {
		if t, err = time.Parse(time.RFC3339, co.time); err != nil {
			return "", time.Time{}, fmt.Errorf("--time %q: want RFC 3339, e.g. 2025-10-08T10:15:00Z", co.time)
		}
	}
	return status, t.UTC().Truncate(time.Second), nil
}

// appendEvent appends the event as the courier API does: one JSON patch
// that tests the article ID and adds to the end of the list (or creates the
// list), so an event another writer appended meanwhile is kept. p becomes
// the parcel the API server returned.
func appendEvent(cmd *cobra.Command, c client.Client, p *trackingv1alpha1.Parcel, event trackingv1alpha1.TrackingEvent) error {
	type op struct {
		Op    string `json:"op"`
		Path  string `json:"path"`
		Value any    `json:"value"`
	}
	add := op{Op: "add", Path: "/spec/events/-", Value: event}
	if len(p.Spec.Events) == 0 {
		add = op{Op: "add", Path: "/spec/events", Value: []trackingv1alpha1.TrackingEvent{event}}
	}
	patch, err := json.Marshal([]op{{Op: "test", Path: "/spec/articleId", Value: p.Spec.ArticleID}, add})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), requestTimeout)
	defer cancel()
	if err := c.Patch(ctx, p, client.RawPatch(types.JSONPatchType, patch)); err != nil {
		return explain(fmt.Errorf("appending the correction to %s/%s: %w", p.Namespace, p.Name, err), "parcels", p.Namespace)
	}
	return nil
}
