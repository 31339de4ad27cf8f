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
	"encoding/json"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
	"github.com/parcelops/parcel-operator/internal/testenv"
)

// statusWriter writes status from base (the copy the writer read) to next.
type statusWriter func(ctx context.Context, c client.Client, base, next *trackingv1alpha1.Parcel) error

func mergeWrite(ctx context.Context, c client.Client, base, next *trackingv1alpha1.Parcel) error {
	return c.Status().Patch(ctx, next, client.MergeFrom(base))
}

func lockedWrite(ctx context.Context, c client.Client, base, next *trackingv1alpha1.Parcel) error {
	return c.Status().Patch(ctx, next, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{}))
}

// staleLockedWrite is what the reconciler does with a stale copy: the
// locked write meets a conflict, the Parcel is read again, and written.
func staleLockedWrite(ctx context.Context, c client.Client, base, next *trackingv1alpha1.Parcel) error {
	err := lockedWrite(ctx, c, base, next.DeepCopy())
	if err == nil {
		return fmt.Errorf("the write from a stale copy of %s succeeded", base.Name)
	}
	fresh := &trackingv1alpha1.Parcel{}
	if err := c.Get(ctx, client.ObjectKeyFromObject(base), fresh); err != nil {
		return err
	}
	update := fresh.DeepCopy()
	update.Status = next.Status
	return lockedWrite(ctx, c, fresh, update)
}

// applyWrite is server-side apply of the whole status, owned by the
// controller.
func applyWrite(ctx context.Context, c client.Client, _, next *trackingv1alpha1.Parcel) error {
	body, err := json.Marshal(map[string]any{
		"apiVersion": trackingv1alpha1.GroupVersion.String(),
		"kind":       "Parcel",
		"metadata":   map[string]any{"name": next.Name, "namespace": next.Namespace},
		"status":     next.Status,
	})
	if err != nil {
		return err
	}
	return c.Status().Patch(ctx, next, client.RawPatch(types.ApplyPatchType, body),
		client.FieldOwner("parcel-controller"), client.ForceOwnership)
}

// BenchmarkStatusWrite measures what one status write of an 8-event Parcel
// costs the control plane, for each way of making it safe against a stale
// cache (docs/architecture.md, "Reconcile"): a plain merge patch (unsafe,
// the floor), a merge patch under an optimistic lock, the same from a stale
// copy (409, GET, write again), and server-side apply. Each Parcel's status
// first holds the fold of 7 events, written the same way; one op writes
// the 8th. Reported: kube-apiserver and etcd CPU per op.
func BenchmarkStatusWrite(b *testing.B) {
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
	c, err := client.New(cfg, client.Options{Scheme: benchScheme})
	if err != nil {
		b.Fatal(err)
	}

	for _, variant := range []struct {
		name  string
		write statusWriter
		// stale makes the copy each op starts from older than the server's.
		stale bool
	}{
		{"merge", mergeWrite, false},
		{"merge-locked", lockedWrite, false},
		{"merge-locked-stale", staleLockedWrite, true},
		{"apply", applyWrite, false},
	} {
		b.Run(variant.name, func(b *testing.B) {
			ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "write-"}}
			if err := c.Create(ctx, ns); err != nil {
				b.Fatal(err)
			}
			bases := make([]*trackingv1alpha1.Parcel, b.N)
			nexts := make([]*trackingv1alpha1.Parcel, b.N)
			for i := range b.N {
				p := benchParcel(ns.Name, fmt.Sprintf("ARP%010d", i))
				if err := c.Create(ctx, p); err != nil {
					b.Fatal(err)
				}
				read := p.DeepCopy()
				seven := p.DeepCopy()
				seven.Status = foldedStatus(p, 7)
				write := variant.write
				if variant.stale {
					write = mergeWrite
				}
				if err := write(ctx, c, p, seven); err != nil {
					b.Fatal(err)
				}
				bases[i] = seven
				if variant.stale {
					bases[i] = read
				}
				nexts[i] = bases[i].DeepCopy()
				nexts[i].Status = foldedStatus(p, 8)
			}

			apiserver, etcd := testenv.ChildCPU("kube-apiserver"), testenv.ChildCPU("etcd")
			b.ResetTimer()
			for i := range b.N {
				if err := variant.write(ctx, c, bases[i], nexts[i]); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(perOp(testenv.ChildCPU("kube-apiserver")-apiserver, b.N), "apiserver-µs/op")
			b.ReportMetric(perOp(testenv.ChildCPU("etcd")-etcd, b.N), "etcd-µs/op")
		})
	}
}

// foldedStatus is the status of p after its first n events.
func foldedStatus(p *trackingv1alpha1.Parcel, n int) trackingv1alpha1.ParcelStatus {
	fold := trackingv1alpha1.DefaultTransitions.Fold(p.Spec.Events[:n])
	return trackingv1alpha1.ParcelStatus{
		ObservedGeneration: p.Generation,
		Phase:              fold.Phase,
		LastEventTime:      fold.LastEventTime,
		History:            fold.History(),
		Conditions: []metav1.Condition{{
			Type: trackingv1alpha1.ConditionReady, Status: metav1.ConditionTrue, Reason: trackingv1alpha1.ReasonReconciled,
			Message: summarize(fold), ObservedGeneration: p.Generation, LastTransitionTime: metav1.NewTime(time.Unix(0, 0)),
		}},
	}
}

func perOp(d time.Duration, ops int) float64 {
	return float64(d.Microseconds()) / float64(ops)
}
