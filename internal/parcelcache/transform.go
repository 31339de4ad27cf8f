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

// Package parcelcache holds what the manager's cache keeps of each object:
// Transform, its DefaultTransform, which compacts Parcels.
package parcelcache

import (
	"slices"
	"unique"

	"sigs.k8s.io/controller-runtime/pkg/cache"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
)

// Transform trims a Parcel before the manager's cache keeps
// it, without changing any value: managedFields go (nothing reads them),
// the strings thousands of Parcels repeat (namespace, statuses, sources,
// verdicts, condition types, reasons and messages) are shared instead of
// held once per object, and lists are cut to their length (JSON decoding
// leaves spare capacity, e.g. four conditions' room for one). Other objects
// only lose their managedFields.
func Transform(obj any) (any, error) {
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
