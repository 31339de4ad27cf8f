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

// Package registry stores the typed server's Parcels: the generic
// registry over etcd, the strategies that enforce what the CRD's schema and
// CEL rules enforce, the selectable fields and the printer columns.
package registry

import (
	"context"
	"fmt"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/registry/generic"
	"k8s.io/apiserver/pkg/storage"
	"k8s.io/apiserver/pkg/storage/names"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"

	typedv1alpha1 "github.com/parcelops/parcel-operator/hack/typedapi/apis/tracking/v1alpha1"
)

// parcelStrategy is the main resource's: a write may change metadata and
// spec; status is kept as it was, and the generation moves with the spec,
// as for a CRD with a status subresource.
type parcelStrategy struct {
	runtime.ObjectTyper
	names.NameGenerator
}

func newStrategy(typer runtime.ObjectTyper) parcelStrategy {
	return parcelStrategy{typer, names.SimpleNameGenerator}
}

func (parcelStrategy) NamespaceScoped() bool { return true }

// GetResetFields names what server-side apply must not let a writer of
// the main resource own.
func (parcelStrategy) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set {
	return map[fieldpath.APIVersion]*fieldpath.Set{
		fieldpath.APIVersion(typedv1alpha1.SchemeGroupVersion.String()): fieldpath.NewSet(fieldpath.MakePathOrDie("status")),
	}
}

func (parcelStrategy) PrepareForCreate(_ context.Context, obj runtime.Object) {
	p := obj.(*typedv1alpha1.Parcel)
	p.Status = typedv1alpha1.Parcel{}.Status
	p.Generation = 1
}

func (parcelStrategy) PrepareForUpdate(_ context.Context, obj, old runtime.Object) {
	p, o := obj.(*typedv1alpha1.Parcel), old.(*typedv1alpha1.Parcel)
	p.Status = o.Status
	if !apiequality.Semantic.DeepEqual(p.Spec, o.Spec) {
		p.Generation = o.Generation + 1
	}
}

func (parcelStrategy) Validate(_ context.Context, obj runtime.Object) field.ErrorList {
	return validateParcel(obj.(*typedv1alpha1.Parcel))
}

func (parcelStrategy) ValidateUpdate(_ context.Context, obj, old runtime.Object) field.ErrorList {
	return validateParcelUpdate(obj.(*typedv1alpha1.Parcel), old.(*typedv1alpha1.Parcel))
}

func (parcelStrategy) WarningsOnCreate(context.Context, runtime.Object) []string { return nil }

func (parcelStrategy) WarningsOnUpdate(context.Context, runtime.Object, runtime.Object) []string {
	return nil
}

func (parcelStrategy) Canonicalize(runtime.Object) {}

func (parcelStrategy) AllowCreateOnUpdate(context.Context) bool { return false }

func (parcelStrategy) AllowUnconditionalUpdate(context.Context) bool { return true }

// statusStrategy is the status subresource's: only status changes, and
// the spec rules need not run again (the spec cannot have changed).
type statusStrategy struct {
	parcelStrategy
}

// GetResetFields names what a writer of the status subresource must not own.
func (statusStrategy) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set {
	return map[fieldpath.APIVersion]*fieldpath.Set{
		fieldpath.APIVersion(typedv1alpha1.SchemeGroupVersion.String()): fieldpath.NewSet(
			fieldpath.MakePathOrDie("spec"), fieldpath.MakePathOrDie("metadata", "labels"),
			fieldpath.MakePathOrDie("metadata", "annotations")),
	}
}

func (statusStrategy) PrepareForUpdate(_ context.Context, obj, old runtime.Object) {
	p, o := obj.(*typedv1alpha1.Parcel), old.(*typedv1alpha1.Parcel)
	status := p.Status
	*p = *o.DeepCopy()
	p.Status = status
}

func (statusStrategy) ValidateUpdate(_ context.Context, obj, _ runtime.Object) field.ErrorList {
	p := obj.(*typedv1alpha1.Parcel)
	return validateStatus(&p.Status, field.NewPath("status"))
}

// GetAttrs gives the generic registry the labels and the selectable
// fields of a Parcel: the CRD's (spec.articleId, status.phase) and the
// metadata ones every resource has.
func GetAttrs(obj runtime.Object) (labels.Set, fields.Set, error) {
	p, ok := obj.(*typedv1alpha1.Parcel)
	if !ok {
		return nil, nil, fmt.Errorf("not a Parcel: %T", obj)
	}
	return p.Labels, selectableFields(p), nil
}

func selectableFields(p *typedv1alpha1.Parcel) fields.Set {
	f := generic.ObjectMetaFieldsSet(&p.ObjectMeta, true)
	f[typedv1alpha1.FieldArticleID] = p.Spec.ArticleID
	f[typedv1alpha1.FieldPhase] = string(p.Status.Phase)
	return f
}

// matchParcel is the selection predicate a LIST or WATCH filters with.
func matchParcel(label labels.Selector, fieldSel fields.Selector) storage.SelectionPredicate {
	return storage.SelectionPredicate{Label: label, Field: fieldSel, GetAttrs: GetAttrs}
}
