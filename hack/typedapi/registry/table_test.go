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
	"slices"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
	typedv1alpha1 "github.com/parcelops/parcel-operator/hack/typedapi/apis/tracking/v1alpha1"
)

func TestTableMatchesTheCRDsPrinterColumns(t *testing.T) {
	old := metav1.NewTime(time.Now().Add(-49 * time.Hour))
	reconciled := valid()
	reconciled.CreationTimestamp = old
	reconciled.Status = trackingv1alpha1.ParcelStatus{Phase: trackingv1alpha1.StatusDelivered, LastEventTime: &old,
		Conditions: []metav1.Condition{{Type: conditionPODStored, Status: metav1.ConditionTrue, Reason: "Stored"}}}
	fresh := valid()
	fresh.Name = "fresh"

	table, err := tableConvertor{}.ConvertToTable(context.Background(),
		&typedv1alpha1.ParcelList{ListMeta: metav1.ListMeta{ResourceVersion: "7"}, Items: []typedv1alpha1.Parcel{*reconciled, *fresh}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(table.ColumnDefinitions))
	for _, c := range table.ColumnDefinitions {
		names = append(names, c.Name)
	}
	if got, want := names, []string{"Name", "Article", "Status", "Last Event", "POD", "Age"}; !slices.Equal(got, want) {
		t.Fatalf("columns = %v, want %v", got, want)
	}
	if table.ResourceVersion != "7" || len(table.Rows) != 2 {
		t.Fatalf("want resource version 7 and two rows, got %q and %d", table.ResourceVersion, len(table.Rows))
	}
	want := [][]any{
		{"arp1", articleID, "Delivered", "2d1h", "Stored", "2d1h"},
		// Where the CRD's JSONPath finds nothing, the cell is nil.
		{"fresh", articleID, nil, nil, nil, nil},
	}
	for i, row := range table.Rows {
		if len(row.Cells) != len(want[i]) {
			t.Fatalf("row %d = %v, want %v", i, row.Cells, want[i])
		}
		for j, c := range row.Cells {
			if c != want[i][j] {
				t.Errorf("row %d cell %d = %v, want %v", i, j, c, want[i][j])
			}
		}
	}

	noHeaders, err := tableConvertor{}.ConvertToTable(context.Background(), reconciled, &metav1.TableOptions{NoHeaders: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(noHeaders.ColumnDefinitions) != 0 || len(noHeaders.Rows) != 1 {
		t.Fatalf("want no headers and one row, got %d and %d", len(noHeaders.ColumnDefinitions), len(noHeaders.Rows))
	}
}
