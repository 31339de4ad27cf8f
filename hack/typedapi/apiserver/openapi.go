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

package apiserver

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	openapinamer "k8s.io/apiserver/pkg/endpoints/openapi"
	genericapiserver "k8s.io/apiserver/pkg/server"
	aggregatoropenapi "k8s.io/kube-aggregator/pkg/generated/openapi"
	"k8s.io/kube-openapi/pkg/common"
	"k8s.io/kube-openapi/pkg/util"
	"k8s.io/kube-openapi/pkg/validation/spec"

	typedv1alpha1 "github.com/parcelops/parcel-operator/hack/typedapi/apis/tracking/v1alpha1"
)

// openAPIConfigs are the OpenAPI v2 and v3 the server publishes, which the
// generic server also needs for server-side apply's type converter.
//
// The metav1 definitions are kube-aggregator's generated ones; Parcel's
// are written here with spec and status as open objects, because
// generating them needs openapi-gen in the build. So kubectl explain shows
// only the top level, and server-side apply treats spec and status as
// atomic, a limit of the prototype noted in docs/scale.md.
func openAPIConfigs(cfg *genericapiserver.RecommendedConfig) {
	namer := openapinamer.NewDefinitionNamer(Scheme)
	cfg.OpenAPIConfig = genericapiserver.DefaultOpenAPIConfig(definitions, namer)
	cfg.OpenAPIConfig.Info.Title = "parcel-apiserver"
	cfg.OpenAPIV3Config = genericapiserver.DefaultOpenAPIV3Config(definitions, namer)
	cfg.OpenAPIV3Config.Info.Title = "parcel-apiserver"
}

func definitions(ref common.ReferenceCallback) map[string]common.OpenAPIDefinition {
	defs := aggregatoropenapi.GetOpenAPIDefinitions(ref)
	open := spec.Schema{SchemaProps: spec.SchemaProps{Type: []string{"object"}},
		VendorExtensible: spec.VendorExtensible{Extensions: spec.Extensions{"x-kubernetes-preserve-unknown-fields": true}}}
	str := spec.Schema{SchemaProps: spec.SchemaProps{Type: []string{"string"}}}
	objectMeta := metav1.ObjectMeta{}.OpenAPIModelName()
	listMeta := metav1.ListMeta{}.OpenAPIModelName()
	parcel := typeName(&typedv1alpha1.Parcel{})
	defs[parcel] = common.OpenAPIDefinition{
		Schema: spec.Schema{SchemaProps: spec.SchemaProps{
			Description: "Parcel is one parcel a courier tracks (see api/v1alpha1).",
			Type:        []string{"object"},
			Required:    []string{"spec"},
			Properties: map[string]spec.Schema{
				"apiVersion": str, "kind": str,
				"metadata": {SchemaProps: spec.SchemaProps{Ref: ref(objectMeta)}},
				"spec":     open, "status": open,
			},
		}},
		Dependencies: []string{objectMeta},
	}
	defs[typeName(&typedv1alpha1.ParcelList{})] = common.OpenAPIDefinition{
		Schema: spec.Schema{SchemaProps: spec.SchemaProps{
			Type:     []string{"object"},
			Required: []string{"items"},
			Properties: map[string]spec.Schema{
				"apiVersion": str, "kind": str,
				"metadata": {SchemaProps: spec.SchemaProps{Ref: ref(listMeta)}},
				"items": {SchemaProps: spec.SchemaProps{Type: []string{"array"},
					Items: &spec.SchemaOrArray{Schema: &spec.Schema{SchemaProps: spec.SchemaProps{Ref: ref(parcel)}}}}},
			},
		}},
		Dependencies: []string{listMeta, parcel},
	}
	return defs
}

// typeName is the definition name the generic server looks a type up by.
func typeName(obj any) string { return util.GetCanonicalTypeName(obj) }
