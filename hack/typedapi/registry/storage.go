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

package registry

import (
	"context"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/generic"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"

	typedv1alpha1 "github.com/parcelops/parcel-operator/hack/typedapi/apis/tracking/v1alpha1"
)

// NewStorage returns the parcels resource and its status subresource,
// both over one etcd prefix through the generic registry (which brings
// the watch cache, pagination, server-side apply and the rest).
func NewStorage(scheme *runtime.Scheme, optsGetter generic.RESTOptionsGetter) (map[string]rest.Storage, error) {
	strategy := newStrategy(scheme)
	store := &genericregistry.Store{
		NewFunc:                   func() runtime.Object { return &typedv1alpha1.Parcel{} },
		NewListFunc:               func() runtime.Object { return &typedv1alpha1.ParcelList{} },
		PredicateFunc:             matchParcel,
		DefaultQualifiedResource:  typedv1alpha1.Resource.GroupResource(),
		SingularQualifiedResource: typedv1alpha1.SchemeGroupVersion.WithResource("parcel").GroupResource(),
		CreateStrategy:            strategy,
		UpdateStrategy:            strategy,
		DeleteStrategy:            strategy,
		ResetFieldsStrategy:       strategy,
		TableConvertor:            tableConvertor{},
	}
	if err := store.CompleteWithOptions(&generic.StoreOptions{RESTOptions: optsGetter, AttrFunc: GetAttrs}); err != nil {
		return nil, err
	}
	status := *store
	status.CreateStrategy = nil
	status.DeleteStrategy = nil
	status.UpdateStrategy = statusStrategy{strategy}
	status.ResetFieldsStrategy = statusStrategy{strategy}
	return map[string]rest.Storage{
		"parcels":        &parcelREST{store},
		"parcels/status": &statusREST{&status},
	}, nil
}

// parcelREST is the parcels resource, with kubectl's short name and
// category, as the CRD declares them.
type parcelREST struct {
	*genericregistry.Store
}

func (*parcelREST) ShortNames() []string { return []string{"pcl"} }

func (*parcelREST) Categories() []string { return []string{"parcelops"} }

// statusREST is the status subresource: get, update and patch only.
type statusREST struct {
	store *genericregistry.Store
}

func (r *statusREST) New() runtime.Object { return &typedv1alpha1.Parcel{} }

func (r *statusREST) Destroy() {}

func (r *statusREST) Get(ctx context.Context, name string, options *metav1.GetOptions) (runtime.Object, error) {
	return r.store.Get(ctx, name, options)
}

func (r *statusREST) Update(ctx context.Context, name string, objInfo rest.UpdatedObjectInfo,
	createValidation rest.ValidateObjectFunc, updateValidation rest.ValidateObjectUpdateFunc,
	_ bool, options *metav1.UpdateOptions) (runtime.Object, bool, error) {
	// Status never creates a Parcel, whatever the request asks.
	return r.store.Update(ctx, name, objInfo, createValidation, updateValidation, false, options)
}

func (r *statusREST) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set {
	return r.store.GetResetFields()
}

func (r *statusREST) ConvertToTable(ctx context.Context, object, tableOptions runtime.Object) (*metav1.Table, error) {
	return r.store.ConvertToTable(ctx, object, tableOptions)
}
