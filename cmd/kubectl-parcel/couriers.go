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
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
)

func newCouriersCommand(o *options) *cobra.Command {
	var (
		all    bool
		format string
	)
	cmd := &cobra.Command{
		Use:   "couriers [-A]",
		Short: "List the couriers: can they authenticate, their limits, their parcels by phase",
		Long: `List each Courier: whether it can authenticate (its Ready condition) and, if
not, why; its rate limit; its maxTimeInStatus; and how many of its parcels
are in each phase. A parcel counts for the courier that reported its
latest event (corrections by people do not count).`,
		Example: `  kubectl parcel couriers -n dev
  kubectl parcel couriers -A`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutputFormat(format); err != nil {
				return err
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
			couriers := &trackingv1alpha1.CourierList{}
			if err := c.List(ctx, couriers, scope.listOptions()...); err != nil {
				return explain(err, "couriers", scope.namespace)
			}
			if format != "" {
				return printObject(format, couriers, o.streams.Out)
			}
			if len(couriers.Items) == 0 {
				_, err := fmt.Fprintf(o.streams.ErrOut, "No couriers in %s.\n", scope)
				return err
			}
			parcels := &trackingv1alpha1.ParcelList{}
			if err := c.List(ctx, parcels, scope.listOptions()...); err != nil {
				return explain(err, "parcels", scope.namespace)
			}
			return o.printCouriers(couriers.Items, parcels.Items, scope.all)
		},
	}
	cmd.Flags().BoolVarP(&all, "all-namespaces", "A", false, "List the couriers of every namespace.")
	addOutputFlag(cmd, &format)
	return cmd
}

func (o *options) printCouriers(couriers []trackingv1alpha1.Courier, parcels []trackingv1alpha1.Parcel, allNamespaces bool) error {
	byPhase := map[client.ObjectKey]map[trackingv1alpha1.TrackingStatus]int{}
	for i := range parcels {
		p := &parcels[i]
		key := client.ObjectKey{Namespace: p.Namespace, Name: trackingv1alpha1.CourierOf(p.Spec.Events)}
		if byPhase[key] == nil {
			byPhase[key] = map[trackingv1alpha1.TrackingStatus]int{}
		}
		byPhase[key][cmp.Or(p.Status.Phase, trackingv1alpha1.StatusNotScanned)]++
	}

	w := newTable(o.streams.Out)
	if allNamespaces {
		w.printf("NAMESPACE\t")
	}
	w.println("NAME\tREADY\tREASON\tRATE\tMAX TIME IN STATUS\tPARCELS\tMESSAGE")
	for i := range couriers {
		c := &couriers[i]
		if allNamespaces {
			w.printf("%s\t", c.Namespace)
		}
		ready, reason, message := "Unknown", "-", "not checked yet"
		if cond := meta.FindStatusCondition(c.Status.Conditions, trackingv1alpha1.ConditionReady); cond != nil {
			ready, reason, message = string(cond.Status), cond.Reason, cond.Message
		}
		perSecond, burst := c.Rate()
		w.printf("%s\t%s\t%s\t%g/s burst %d\t%s\t%s\t%s\n", c.Name, ready, reason, perSecond, burst,
			limits(c), phaseCounts(byPhase[client.ObjectKeyFromObject(c)]), oneLine(message, 100))
	}
	return w.flush()
}

// limits shows a courier's maxTimeInStatus, "In Transit 48h, ...".
func limits(c *trackingv1alpha1.Courier) string {
	var parts []string
	for _, s := range trackingv1alpha1.Statuses() {
		if d, ok := c.MaxTimeIn(s); ok {
			parts = append(parts, s.DisplayName()+" "+shortDuration(d))
		}
	}
	return orDash(strings.Join(parts, ", "))
}

// phaseCounts shows parcels by phase in the order phases are met,
// "In Transit 2, Delivered 1", or 0.
func phaseCounts(counts map[trackingv1alpha1.TrackingStatus]int) string {
	var parts []string
	for _, s := range trackingv1alpha1.Statuses() {
		if n := counts[s]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", s.DisplayName(), n))
		}
	}
	if len(parts) == 0 {
		return "0"
	}
	return strings.Join(parts, ", ")
}

// shortDuration drops a duration's zero tail: 48h, not 48h0m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
