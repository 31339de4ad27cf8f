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
	"fmt"

	"k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metatable "k8s.io/apimachinery/pkg/api/meta/table"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	typedv1alpha1 "github.com/parcelops/parcel-operator/hack/typedapi/apis/tracking/v1alpha1"
)

// conditionPODStored is the condition the POD column shows the reason of.
const conditionPODStored = "ProofOfDeliveryStored"

// columns are the CRD's printer columns (api/v1alpha1/parcel_types.go),
// after the Name column every table starts with.
var columns = []metav1.TableColumnDefinition{
	{Name: "Name", Type: columnString, Format: "name", Description: "Name must be unique within a namespace."},
	{Name: "Article", Type: columnString},
	{Name: "Status", Type: columnString},
	{Name: "Last Event", Type: columnDate},
	{Name: "POD", Type: columnString},
	{Name: "Age", Type: columnDate},
}

// The column types kubectl knows.
const (
	columnString = "string"
	columnDate   = "date"
)

// tableConvertor renders Parcels as kubectl's table exactly as the CRD's
// printer columns do (apiextensions-apiserver's tableconvertor): dates as
// ages, a missing value as a nil cell (kubectl shows <none>).
type tableConvertor struct{}

func (tableConvertor) ConvertToTable(_ context.Context, obj runtime.Object, tableOptions runtime.Object) (*metav1.Table, error) {
	table := &metav1.Table{}
	if opts, ok := tableOptions.(*metav1.TableOptions); !ok || opts == nil || !opts.NoHeaders {
		table.ColumnDefinitions = columns
	}
	if l, err := meta.ListAccessor(obj); err == nil {
		table.ResourceVersion, table.Continue, table.RemainingItemCount = l.GetResourceVersion(), l.GetContinue(), l.GetRemainingItemCount()
	} else if o, err := meta.CommonAccessor(obj); err == nil {
		table.ResourceVersion = o.GetResourceVersion()
	}
	var err error
	table.Rows, err = metatable.MetaToTableRow(obj, func(obj runtime.Object, _ metav1.Object, name, _ string) ([]any, error) {
		p, ok := obj.(*typedv1alpha1.Parcel)
		if !ok {
			return nil, errors.NewInternalError(fmt.Errorf("cannot show %T as a Parcel", obj))
		}
		return []any{name, stringCell(p.Spec.ArticleID), stringCell(string(p.Status.Phase)),
			dateCell(p.Status.LastEventTime), stringCell(podReason(p)), dateCell(&p.CreationTimestamp)}, nil
	})
	return table, err
}

// stringCell is nil for an empty string: the CRD's JSONPath finds nothing
// where the field is omitted.
func stringCell(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func dateCell(t *metav1.Time) any {
	if t == nil || t.IsZero() {
		return nil
	}
	return metatable.ConvertToHumanReadableDateType(*t)
}

func podReason(p *typedv1alpha1.Parcel) string {
	for _, c := range p.Status.Conditions {
		if c.Type == conditionPODStored {
			return c.Reason
		}
	}
	return ""
}
