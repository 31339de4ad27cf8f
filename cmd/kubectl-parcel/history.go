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
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/util/duration"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
	"github.com/parcelops/parcel-operator/internal/timeline"
)

// remarksWidth caps the remarks column, so a long remark does not push the
// POD column off the screen; -o yaml has them whole.
const remarksWidth = 48

func newHistoryCommand(o *options) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "history ARTICLE_ID|NAME",
		Short: "Show a parcel's events, each with what it did, in one table",
		Long: `Show a parcel's phase and conditions, then every event in event-time order:
its time, status, verdict (applied, unchanged, rejected with the reason,
duplicate, or pending while the status does not cover it yet), who
reported it, its remarks and its proof of delivery.`,
		Example: `  # The whole story of one parcel, by the article ID couriers quote
  kubectl parcel history ARP1000052447 -n dev

  # The Parcel itself, for scripts
  kubectl parcel history ARP1000052447 -o yaml`,
		Args: exactArgs(1, "ARTICLE_ID|NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutputFormat(format); err != nil {
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
			p, err := getParcel(ctx, c, ns, args[0])
			if err != nil {
				return err
			}
			if format != "" {
				return printObject(format, p, o.streams.Out)
			}
			return o.printHistory(p, o.streams.Out)
		},
	}
	addOutputFlag(cmd, &format)
	return cmd
}

// printHistory prints the parcel's summary, its conditions and the table
// of its events.
func (o *options) printHistory(p *trackingv1alpha1.Parcel, out io.Writer) error {
	w := newTable(out)
	w.printf("Parcel:\t%s/%s\n", p.Namespace, p.Name)
	w.printf("Article:\t%s\n", p.Spec.ArticleID)
	w.printf("Courier:\t%s\n", orDash(trackingv1alpha1.CourierOf(p.Spec.Events)))
	w.printf("Phase:\t%s\n", orDash(p.Status.Phase.DisplayName()))
	if t := p.Status.LastEventTime; t != nil {
		w.printf("Last event:\t%s (%s ago)\n", timestamp(t.Time), duration.HumanDuration(o.now().Sub(t.Time)))
	}
	if p.Status.ObservedGeneration != p.Generation {
		w.printf("Status:\tcomputed from generation %d of %d: the operator has not seen the newest events yet\n",
			p.Status.ObservedGeneration, p.Generation)
	}
	if len(p.Status.Conditions) > 0 {
		w.println("Conditions:")
		for _, c := range p.Status.Conditions {
			w.printf("  %s\t%s\t%s\t%s\n", c.Type, c.Status, c.Reason, c.Message)
		}
	}
	w.println()

	entries := timeline.Of(p, trackingv1alpha1.DefaultTransitions)
	if len(entries) == 0 {
		w.println("No events recorded yet.")
		return w.flush()
	}
	w.println("TIME\tSTATUS\tVERDICT\tSOURCE\tREMARKS\tPOD")
	for _, e := range entries {
		w.printf("%s\t%s\t%s\t%s\t%s\t%s\n", timestamp(e.Event.Time.Time), e.Event.Status.DisplayName(),
			verdict(e), orDash(e.Event.Source), orDash(oneLine(e.Event.Remarks, remarksWidth)), podCell(e))
	}
	return w.flush()
}

// verdict reads an entry's result as a person says it.
func verdict(e timeline.Entry) string {
	v := strings.ToLower(string(e.Result))
	switch {
	case e.Result == trackingv1alpha1.ResultRejected && e.Reason != "":
		return v + ": " + oneLine(e.Reason, 120)
	case e.Event.Force && e.Result == trackingv1alpha1.ResultApplied:
		return v + " (forced)"
	}
	return v
}

// podCell says what became of an entry's proof of delivery.
func podCell(e timeline.Entry) string {
	switch e.POD {
	case timeline.PODStored:
		return fmt.Sprintf("stored (%d bytes)", e.Stored.Size)
	case timeline.PODPending:
		return "pending"
	case timeline.PODIgnored:
		return "ignored (the event has a file)"
	}
	return "-"
}

// exactArgs is cobra.ExactArgs with an error that names what is missing.
func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return fmt.Errorf("%s takes %s (got %d arguments); see %s --help", cmd.CommandPath(), what, len(args), cmd.CommandPath())
		}
		return nil
	}
}
