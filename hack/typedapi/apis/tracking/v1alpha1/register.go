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

package v1alpha1

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
)

// SchemeGroupVersion is the group and version the CRD serves.
var SchemeGroupVersion = trackingv1alpha1.GroupVersion

// Resource is the resource the typed server serves.
var Resource = SchemeGroupVersion.WithResource("parcels")

// The fields a field selector may name, besides metadata.name and
// metadata.namespace: the CRD's selectable fields.
const (
	FieldArticleID = "spec.articleId"
	FieldPhase     = "status.phase"
)

var (
	schemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)
	// AddToScheme registers Parcel and ParcelList, the meta types of the
	// group version, and the field selectors.
	AddToScheme = schemeBuilder.AddToScheme
)

func addKnownTypes(scheme *runtime.Scheme) error {
	scheme.AddKnownTypes(SchemeGroupVersion, &Parcel{}, &ParcelList{})
	metav1.AddToGroupVersion(scheme, SchemeGroupVersion)
	return scheme.AddFieldLabelConversionFunc(SchemeGroupVersion.WithKind("Parcel"), convertFieldLabel)
}

// convertFieldLabel accepts the field selectors the CRD accepts; the
// generic registry calls it before a LIST or WATCH reaches storage.
func convertFieldLabel(label, value string) (string, string, error) {
	switch label {
	case "metadata.name", "metadata.namespace", FieldArticleID, FieldPhase:
		return label, value, nil
	}
	return "", "", fmt.Errorf("field label %q is not supported: use metadata.name, metadata.namespace, %s or %s",
		label, FieldArticleID, FieldPhase)
}
