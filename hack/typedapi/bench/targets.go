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
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
	typedv1alpha1 "github.com/parcelops/parcel-operator/hack/typedapi/apis/tracking/v1alpha1"
)

// Media types.
const (
	mediaJSON     = runtime.ContentTypeJSON
	mediaProtobuf = runtime.ContentTypeProtobuf
)

// target is one way to the Parcel API: the CRD on kube-apiserver, the
// typed server directly, or the typed server through kube-apiserver's
// aggregator.
type target struct {
	name   string
	client rest.Interface
	// accept is the response media type: protobuf where the server speaks
	// it (the typed server; a CRD cannot), JSON for the CRD. Requests are
	// JSON everywhere, as the courier API's JSON patch is.
	accept string
	// procs are the server processes a write on this path costs CPU in.
	procs procSet
	// newList returns an empty list of this path's Go type.
	newList func() runtime.Object
}

// newTarget builds a REST client for tracking.parcelops.io/v1alpha1 over
// cfg, decoding with codecs.
func newTarget(name string, cfg *rest.Config, codecs serializer.CodecFactory, accept string, procs procSet,
	newList func() runtime.Object) (*target, error) {
	c := rest.CopyConfig(cfg)
	c.GroupVersion = &typedv1alpha1.SchemeGroupVersion
	c.APIPath = "/apis"
	c.NegotiatedSerializer = serializer.WithoutConversionCodecFactory{CodecFactory: codecs}
	c.ContentType = mediaJSON
	c.AcceptContentTypes = accept
	// No client-side rate limit: the server is the only limit measured.
	c.QPS, c.Burst = -1, 0
	client, err := rest.RESTClientFor(c)
	if err != nil {
		return nil, fmt.Errorf("creating the %s client: %w", name, err)
	}
	return &target{name: name, client: client, accept: accept, procs: procs, newList: newList}, nil
}

// create posts a Parcel's JSON.
func (t *target) create(ctx context.Context, ns string, body []byte) error {
	return t.client.Post().Namespace(ns).Resource("parcels").SetHeader("Content-Type", mediaJSON).
		Body(body).Do(ctx).Error()
}

// patch sends a patch of type pt to the parcel, or to its status.
func (t *target) patch(ctx context.Context, ns, name string, pt types.PatchType, body []byte, status bool) error {
	r := t.client.Patch(pt).Namespace(ns).Resource("parcels").Name(name)
	if status {
		r = r.SubResource("status")
	}
	return r.Body(body).Do(ctx).Error()
}

// listAll pages through every Parcel in the server, limit a page, and
// returns how many there were.
func (t *target) listAll(ctx context.Context, limit int) (int, error) {
	var (
		total int
		cont  string
	)
	for {
		list := t.newList()
		r := t.client.Get().Resource("parcels").Param("limit", fmt.Sprint(limit))
		if cont != "" {
			r = r.Param("continue", cont)
		}
		if err := r.Timeout(5 * time.Minute).Do(ctx).Into(list); err != nil {
			return total, fmt.Errorf("listing %s: %w", t.name, err)
		}
		total += meta.LenList(list)
		l, err := meta.ListAccessor(list)
		if err != nil {
			return total, err
		}
		if cont = l.GetContinue(); cont == "" {
			return total, nil
		}
	}
}

// watch opens a watch on ns from resourceVersion: the changes after it.
func (t *target) watch(ctx context.Context, ns, resourceVersion string) (watch.Interface, error) {
	return t.client.Get().Namespace(ns).Resource("parcels").
		VersionedParams(&metav1.ListOptions{Watch: true, ResourceVersion: resourceVersion},
			metav1.ParameterCodec).
		Watch(ctx)
}

// currentResourceVersion is the list resource version of ns: a watch
// from it sees only later changes.
func (t *target) currentResourceVersion(ctx context.Context, ns string) (string, error) {
	list := t.newList()
	if err := t.client.Get().Namespace(ns).Resource("parcels").Param("limit", "1").Do(ctx).Into(list); err != nil {
		return "", err
	}
	l, err := meta.ListAccessor(list)
	if err != nil {
		return "", err
	}
	return l.GetResourceVersion(), nil
}

// specOf returns the spec of either path's Parcel.
func specOf(obj runtime.Object) (*trackingv1alpha1.ParcelSpec, bool) {
	switch p := obj.(type) {
	case *trackingv1alpha1.Parcel:
		return &p.Spec, true
	case *typedv1alpha1.Parcel:
		return &p.Spec, true
	}
	return nil, false
}
