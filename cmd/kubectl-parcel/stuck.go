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
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/util/duration"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
)

// defaultStuckFor is how long without an event makes a parcel stuck when
// --for does not say.
const defaultStuckFor = 48 * time.Hour

// stuckParcel is a parcel that stopped moving.
type stuckParcel struct {
	parcel  *trackingv1alpha1.Parcel
	courier string
	// since is its last event's time, or its creation when it has none.
	since time.Time
}

func newStuckCommand(o *options) *cobra.Command {
	var (
		stuckFor time.Duration
		all      bool
		format   string
	)
	cmd := &cobra.Command{
		Use:   "stuck [--for 48h] [-A]",
		Short: "List the parcels that stopped moving, by phase and courier",
		Long: `List the parcels whose phase is not terminal (not Delivered, not Returned to
Sender) and whose last event (status.lastEventTime; for a parcel without
one, its creation) is older than --for, grouped by phase and courier,
the longest stuck first. OVERDUE is the parcel's Overdue condition: True
when it exceeds its courier's maxTimeInStatus.`,
		Example: `  # Parcels without news for two days, in the current namespace
  kubectl parcel stuck

  # ... for a week, everywhere
  kubectl parcel stuck --for 168h -A`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutputFormat(format); err != nil {
				return err
			}
			if stuckFor <= 0 {
				return fmt.Errorf("--for %s: want a positive duration, e.g. --for 48h", stuckFor)
			}
			scope, err := o.scope(all)
			if err != nil {
				return err
			}
			ctx, cancel := o.context(cmd)
			defer cancel()
			c, err := o.client()
			if err != nil {
				return err
			}
			list := &trackingv1alpha1.ParcelList{}
			if err := c.List(ctx, list, scope.listOptions()...); err != nil {
				return explain(err, "parcels", scope.namespace)
			}
			stuck := findStuck(list.Items, o.now().Add(-stuckFor))
			if format != "" {
				out := &trackingv1alpha1.ParcelList{}
				for _, s := range stuck {
					out.Items = append(out.Items, *s.parcel)
				}
				return printObject(format, out, o.streams.Out)
			}
			if len(stuck) == 0 {
				_, err := fmt.Fprintf(o.streams.ErrOut, "No parcel in %s has gone without an event for more than %s.\n",
					scope, stuckFor)
				return err
			}
			return o.printStuck(stuck, scope.all)
		},
	}
	cmd.Flags().DurationVar(&stuckFor, "for", defaultStuckFor, "How long without an event makes a parcel stuck (Go duration: 48h, 90m).")
	cmd.Flags().BoolVarP(&all, "all-namespaces", "A", false, "List the parcels of every namespace.")
	addOutputFlag(cmd, &format)
	return cmd
}

// findStuck returns the parcels not terminal and without an event since
// cutoff, ordered by phase (the order statuses are met), courier, then the
// longest stuck first.
func findStuck(parcels []trackingv1alpha1.Parcel, cutoff time.Time) []stuckParcel {
	var out []stuckParcel
	for i := range parcels {
		p := &parcels[i]
		phase := cmp.Or(p.Status.Phase, trackingv1alpha1.StatusNotScanned)
		if trackingv1alpha1.DefaultTransitions.IsTerminal(phase) {
			continue
		}
		since := p.CreationTimestamp.Time
		if t := p.Status.LastEventTime; t != nil {
			since = t.Time
		}
		if !since.Before(cutoff) {
			continue
		}
		out = append(out, stuckParcel{parcel: p, courier: trackingv1alpha1.CourierOf(p.Spec.Events), since: since})
	}
	order := trackingv1alpha1.Statuses()
	slices.SortFunc(out, func(a, b stuckParcel) int {
		return cmp.Or(
			cmp.Compare(slices.Index(order, a.parcel.Status.Phase), slices.Index(order, b.parcel.Status.Phase)),
			cmp.Compare(a.courier, b.courier),
			a.since.Compare(b.since),
			cmp.Compare(a.parcel.Namespace, b.parcel.Namespace),
			cmp.Compare(a.parcel.Name, b.parcel.Name),
		)
	})
	return out
}

func (o *options) printStuck(stuck []stuckParcel, allNamespaces bool) error {
	w := newTable(o.streams.Out)
	if allNamespaces {
		w.printf("NAMESPACE\t")
	}
	w.println("PHASE\tCOURIER\tNAME\tARTICLE\tLAST EVENT\tFOR\tOVERDUE")
	for _, s := range stuck {
		p := s.parcel
		if allNamespaces {
			w.printf("%s\t", p.Namespace)
		}
		last := "-"
		if p.Status.LastEventTime != nil {
			last = timestamp(p.Status.LastEventTime.Time)
		}
		overdue := "-"
		if c := meta.FindStatusCondition(p.Status.Conditions, trackingv1alpha1.ConditionOverdue); c != nil {
			overdue = string(c.Status)
		}
		w.printf("%s\t%s\t%s\t%s\t%s\t%s\t%s\n", cmp.Or(p.Status.Phase, trackingv1alpha1.StatusNotScanned).DisplayName(),
			orDash(s.courier), p.Name, p.Spec.ArticleID, last, duration.HumanDuration(o.now().Sub(s.since)), overdue)
	}
	if err := w.flush(); err != nil {
		return err
	}
	groups := 0
	for i := range stuck {
		if i == 0 || stuck[i].parcel.Status.Phase != stuck[i-1].parcel.Status.Phase || stuck[i].courier != stuck[i-1].courier {
			groups++
		}
	}
	_, err := fmt.Fprintf(o.streams.ErrOut, "%d stuck parcels in %d groups of phase and courier.\n", len(stuck), groups)
	return err
}
