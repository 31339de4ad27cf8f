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

package controllers

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
	"github.com/parcelops/parcel-operator/internal/podstore"
	"github.com/parcelops/parcel-operator/internal/retention"
	"github.com/parcelops/parcel-operator/internal/testenv"
)

// benchParcels is how many Parcels one reconcile pass covers.
const benchParcels = 1000

// BenchmarkReconcilePass measures one steady-state pass of the reconciler
// over 1,000 Parcels of 8 events each, as a resync does: every Parcel read
// from the informer cache, folded, compared with its status, and left
// alone because nothing changed. One op is the whole pass.
func BenchmarkReconcilePass(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	env, cfg, err := testenv.Start()
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = env.Stop() }()

	benchScheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(benchScheme))
	utilruntime.Must(trackingv1alpha1.AddToScheme(benchScheme))
	direct, err := client.New(cfg, client.Options{Scheme: benchScheme})
	if err != nil {
		b.Fatal(err)
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "bench"}}
	if err := direct.Create(ctx, ns); err != nil {
		b.Fatal(err)
	}
	requests := make([]reconcile.Request, benchParcels)
	for i := range benchParcels {
		p := benchParcel(ns.Name, fmt.Sprintf("ARP%010d", i))
		if err := direct.Create(ctx, p); err != nil {
			b.Fatal(err)
		}
		requests[i] = reconcile.Request{NamespacedName: client.ObjectKeyFromObject(p)}
	}

	informers, err := cache.New(cfg, cache.Options{Scheme: benchScheme, DefaultTransform: cache.TransformStripManagedFields()})
	if err != nil {
		b.Fatal(err)
	}
	go func() { _ = informers.Start(ctx) }()
	if !informers.WaitForCacheSync(ctx) {
		b.Fatal("cache did not sync")
	}
	cached, err := client.New(cfg, client.Options{Scheme: benchScheme, Cache: &client.CacheOptions{Reader: informers}})
	if err != nil {
		b.Fatal(err)
	}
	store, err := podstore.Open(ctx, "mem://")
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = store.Close() }()
	clientset := kubernetes.NewForConfigOrDie(cfg)
	broadcaster := events.NewBroadcaster(&events.EventSinkImpl{Interface: clientset.EventsV1()})
	broadcaster.StartRecordingToSink(ctx.Done())
	defer broadcaster.Shutdown()
	r := &ParcelReconciler{
		Client:      cached,
		APIReader:   direct,
		Recorder:    broadcaster.NewRecorder(benchScheme, "bench"),
		Store:       store,
		Transitions: trackingv1alpha1.DefaultTransitions,
		OnDelete:    retention.RetainPODFiles,
		Clock:       clock.RealClock{},
	}

	// The first pass writes every status; wait until the cache has them all,
	// so the measured passes find nothing to do.
	for _, req := range requests {
		if _, err := r.Reconcile(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
	if err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		return allObserved(ctx, informers)
	}); err != nil {
		b.Fatalf("statuses did not reach the cache: %v", err)
	}

	b.ReportAllocs()
	for b.Loop() {
		for _, req := range requests {
			if _, err := r.Reconcile(ctx, req); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchParcels), "ns/parcel")
}

// allObserved reports whether the cache holds every Parcel with a status
// computed from its current generation.
func allObserved(ctx context.Context, reader client.Reader) (bool, error) {
	list := &trackingv1alpha1.ParcelList{}
	if err := reader.List(ctx, list); err != nil {
		return false, err
	}
	for _, p := range list.Items {
		if p.Status.ObservedGeneration != p.Generation {
			return false, nil
		}
	}
	return len(list.Items) == benchParcels, nil
}

// benchParcel is a delivered parcel with a failed first attempt: 8 events.
func benchParcel(ns, articleID string) *trackingv1alpha1.Parcel {
	statuses := []trackingv1alpha1.TrackingStatus{
		trackingv1alpha1.StatusReceivedInDepot, trackingv1alpha1.StatusLoadedByDriver,
		trackingv1alpha1.StatusInTransit, trackingv1alpha1.StatusFailedDelivery,
		trackingv1alpha1.StatusInTransit, trackingv1alpha1.StatusFailedDelivery,
		trackingv1alpha1.StatusInTransit, trackingv1alpha1.StatusDelivered,
	}
	base := time.Date(2025, 10, 8, 7, 0, 0, 0, time.UTC)
	p := &trackingv1alpha1.Parcel{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: trackingv1alpha1.ParcelName(articleID)},
		Spec:       trackingv1alpha1.ParcelSpec{ArticleID: articleID},
	}
	for i, s := range statuses {
		p.Spec.Events = append(p.Spec.Events, trackingv1alpha1.TrackingEvent{
			ID:      fmt.Sprintf("%s-%d", articleID, i),
			Status:  s,
			Time:    metav1.NewTime(base.Add(time.Duration(i) * time.Hour)),
			Remarks: s.DisplayName(),
			Source:  "acme",
		})
	}
	return p
}
