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

// Package typedapi is an experiment, not part of parcel-operator: a
// prototype API server that serves parcels.tracking.parcelops.io from typed
// Go objects over its own etcd (k8s.io/apiserver's generic registry),
// registered with kube-apiserver through an APIService, and a benchmark
// that measures it beside the Parcel CRD. Nothing in the manager or the
// install uses it. It is its own Go module so k8s.io/apiserver's server
// and etcd-client dependencies stay out of the manager's go.mod. Findings
// are in docs/scale.md ("Past one cluster's CRDs: a typed Parcel API
// server"); run it with `make spike-typed-api`.
package typedapi
