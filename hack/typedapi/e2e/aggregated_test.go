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

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
	typedv1alpha1 "github.com/parcelops/parcel-operator/hack/typedapi/apis/tracking/v1alpha1"
)

// The JSON patch vocabulary the tests speak.
const (
	articleIDPath = "/spec/articleId"
	opReplace     = "replace"
)

// eventTime is when the seed events happened.
var eventTime = metav1.NewTime(time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC))

func newParcel(ns, articleID string) *typedv1alpha1.Parcel {
	return &typedv1alpha1.Parcel{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: trackingv1alpha1.ParcelName(articleID)},
		Spec: trackingv1alpha1.ParcelSpec{ArticleID: articleID, Events: []trackingv1alpha1.TrackingEvent{
			{ID: "e1", Status: trackingv1alpha1.StatusReceivedInDepot, Time: eventTime, Source: "e2e"},
		}},
	}
}

// setPhase writes the status a reconciler would: phase, Ready, and the
// POD condition the POD column shows.
func setPhase(p *typedv1alpha1.Parcel, phase trackingv1alpha1.TrackingStatus) {
	GinkgoHelper()
	p.Status = trackingv1alpha1.ParcelStatus{
		ObservedGeneration: p.Generation,
		Phase:              phase,
		LastEventTime:      &eventTime,
		Conditions: []metav1.Condition{
			{Type: "Ready", Status: metav1.ConditionTrue, Reason: "Reconciled", ObservedGeneration: p.Generation,
				LastTransitionTime: metav1.Now()},
			{Type: "ProofOfDeliveryStored", Status: metav1.ConditionTrue, Reason: "Stored",
				ObservedGeneration: p.Generation, LastTransitionTime: metav1.Now()},
		},
	}
	Expect(k8sClient.Status().Update(ctx, p)).To(Succeed())
}

// kubectl runs envtest's kubectl against kube-apiserver in namespace ns.
func kubectl(ns string, args ...string) string {
	GinkgoHelper()
	cmd := exec.CommandContext(ctx, filepath.Join(cluster.Env.BinaryAssetsDirectory, "kubectl"),
		append([]string{"--kubeconfig", cluster.Kubeconfig, "--namespace", ns}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	Expect(err).NotTo(HaveOccurred(), "kubectl %v: %s", args, stderr.String())
	return string(out)
}

var nsCount int

func newNamespace() string {
	nsCount++
	return fmt.Sprintf("e2e-%d", nsCount)
}

var _ = Describe("kubectl through the aggregator", func() {
	var ns string

	BeforeEach(func() {
		ns = newNamespace()
		for _, tc := range []struct {
			articleID string
			phase     trackingv1alpha1.TrackingStatus
		}{
			{"ARP1", trackingv1alpha1.StatusDelivered},
			{"ARP2", trackingv1alpha1.StatusInTransit},
		} {
			p := newParcel(ns, tc.articleID)
			Expect(k8sClient.Create(ctx, p)).To(Succeed())
			setPhase(p, tc.phase)
		}
	})

	It("lists parcels by short name and category with the CRD's printer columns", func() {
		for _, resource := range []string{"pcl", "parcels", "parcelops"} {
			out := strings.ReplaceAll(kubectl(ns, "get", resource), "parcel.tracking.parcelops.io/", "")
			lines := strings.Split(strings.TrimSpace(out), "\n")
			Expect(lines).To(HaveLen(3), resource)
			Expect(strings.Fields(lines[0])).To(Equal([]string{"NAME", "ARTICLE", "STATUS", "LAST", "EVENT", "POD", "AGE"}))
			row := strings.Fields(lines[1])
			Expect(row).To(HaveLen(6), lines[1])
			Expect(row[:3]).To(Equal([]string{"arp1", "ARP1", "Delivered"}))
			Expect(row[3]).To(MatchRegexp(`^[0-9]+[dy]`), "LAST EVENT is an age, the event was in 2025")
			Expect(row[4]).To(Equal("Stored"))
			Expect(strings.Fields(lines[2])[:3]).To(Equal([]string{"arp2", "ARP2", "InTransit"}))
		}
	})

	It("selects parcels by phase and by article ID on the server", func() {
		Expect(kubectl(ns, "get", "pcl", "--field-selector", "status.phase=Delivered", "-o", "name")).
			To(Equal("parcel.tracking.parcelops.io/arp1\n"))
		Expect(kubectl(ns, "get", "pcl", "--field-selector", "spec.articleId=ARP2", "-o", "name")).
			To(Equal("parcel.tracking.parcelops.io/arp2\n"))
		list := &typedv1alpha1.ParcelList{}
		err := k8sClient.List(ctx, list, client.InNamespace(ns), client.MatchingFields{"status.lastEventTime": "x"})
		Expect(apierrors.IsBadRequest(err)).To(BeTrue(), "an unsupported field selector is refused: %v", err)
		Expect(err.Error()).To(ContainSubstring("spec.articleId or status.phase"))
	})

	It("lets kubectl wait for a phase and for Ready", func() {
		Expect(kubectl(ns, "wait", "pcl/arp1", "--for=jsonpath={.status.phase}=Delivered", "--timeout=10s")).
			To(ContainSubstring("parcel.tracking.parcelops.io/arp1 condition met"))
		Expect(kubectl(ns, "wait", "pcl", "--all", "--for=condition=Ready", "--timeout=10s")).
			To(ContainSubstring("parcel.tracking.parcelops.io/arp2 condition met"))
	})

	It("streams changes to kubectl get -w", func() {
		cmd := exec.CommandContext(ctx, filepath.Join(cluster.Env.BinaryAssetsDirectory, "kubectl"),
			"--kubeconfig", cluster.Kubeconfig, "--namespace", ns, "get", "pcl", "-w", "--output-watch-events")
		stdout, err := cmd.StdoutPipe()
		Expect(err).NotTo(HaveOccurred())
		Expect(cmd.Start()).To(Succeed())
		DeferCleanup(func() {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		})
		lines := make(chan string, 16)
		go func() {
			defer GinkgoRecover()
			s := bufio.NewScanner(stdout)
			for s.Scan() {
				lines <- s.Text()
			}
			close(lines)
		}()
		// The initial list: a header and the two parcels.
		Eventually(lines).WithTimeout(20 * time.Second).Should(Receive(ContainSubstring("ARP2")))

		p := &typedv1alpha1.Parcel{}
		Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: "arp2"}, p)).To(Succeed())
		setPhase(p, trackingv1alpha1.StatusDelivered)
		Eventually(lines).WithTimeout(20 * time.Second).Should(Receive(
			And(HavePrefix("MODIFIED"), ContainSubstring("arp2"), ContainSubstring("Delivered"))))
	})
})

var _ = Describe("The CRD's rules, enforced by the typed server's strategy", func() {
	var (
		ns string
		p  *typedv1alpha1.Parcel
	)

	BeforeEach(func() {
		ns = newNamespace()
		p = newParcel(ns, "RULES1")
		Expect(k8sClient.Create(ctx, p)).To(Succeed())
	})

	patch := func(ops ...map[string]any) error {
		raw, err := json.Marshal(ops)
		Expect(err).NotTo(HaveOccurred())
		return k8sClient.Patch(ctx, p.DeepCopy(), client.RawPatch(types.JSONPatchType, raw))
	}

	It("takes the courier API's append: test the article ID, add one event", func() {
		Expect(patch(
			map[string]any{"op": "test", "path": articleIDPath, "value": "RULES1"},
			map[string]any{"op": "add", "path": "/spec/events/-", "value": map[string]any{
				"id": "e2", "status": "InTransit", "time": "2025-03-02T09:00:00Z"}},
		)).To(Succeed())
		got := &typedv1alpha1.Parcel{}
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(p), got)).To(Succeed())
		Expect(got.Spec.Events).To(HaveLen(2))
		Expect(got.Generation).To(Equal(int64(2)), "a spec change moves the generation")
	})

	DescribeTable("refuses what the CRD refuses, naming the field",
		func(message string, ops ...map[string]any) {
			err := patch(ops...)
			Expect(apierrors.IsInvalid(err)).To(BeTrue(), "%v", err)
			Expect(err.Error()).To(ContainSubstring(message))
		},
		Entry("a changed article ID", "articleId is immutable",
			map[string]any{"op": opReplace, "path": articleIDPath, "value": "OTHER"}),
		Entry("a removed event", "events are append-only",
			map[string]any{"op": "remove", "path": "/spec/events/0"}),
		Entry("an edited event", "events are append-only",
			map[string]any{"op": opReplace, "path": "/spec/events/0/remarks", "value": "edited"}),
		Entry("an unknown status", "spec.events[1].status",
			map[string]any{"op": "add", "path": "/spec/events/-", "value": map[string]any{
				"id": "e2", "status": "Lost", "time": "2025-03-02T09:00:00Z"}}),
		Entry("an article ID the courier API would refuse", "spec.articleId",
			map[string]any{"op": "test", "path": articleIDPath, "value": "RULES1"},
			map[string]any{"op": opReplace, "path": articleIDPath, "value": "-bad"}),
	)

	It("keeps status out of spec writes and spec out of status writes", func() {
		withStatus := p.DeepCopy()
		withStatus.Status.Phase = trackingv1alpha1.StatusDelivered
		Expect(k8sClient.Update(ctx, withStatus)).To(Succeed())
		Expect(withStatus.Status.Phase).To(BeEmpty(), "a spec write keeps the stored status")

		withSpec := withStatus.DeepCopy()
		withSpec.Spec.Events = nil
		withSpec.Status.Phase = trackingv1alpha1.StatusInTransit
		Expect(k8sClient.Status().Update(ctx, withSpec)).To(Succeed())
		Expect(withSpec.Spec.Events).To(HaveLen(1), "a status write keeps the stored spec")
		Expect(withSpec.Status.Phase).To(Equal(trackingv1alpha1.StatusInTransit))
	})
})

var _ = Describe("A controller-runtime informer through the aggregator", func() {
	It("lists, then sees each change", func() {
		ns := newNamespace()
		Expect(k8sClient.Create(ctx, newParcel(ns, "INF1"))).To(Succeed())

		informers, err := cache.New(cluster.Config, cache.Options{Scheme: scheme,
			DefaultNamespaces: map[string]cache.Config{ns: {}}})
		Expect(err).NotTo(HaveOccurred())
		informer, err := informers.GetInformer(ctx, &typedv1alpha1.Parcel{})
		Expect(err).NotTo(HaveOccurred())
		var (
			mu     sync.Mutex
			phases []trackingv1alpha1.TrackingStatus
		)
		_, err = informer.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
			UpdateFunc: func(_, obj any) {
				mu.Lock()
				defer mu.Unlock()
				phases = append(phases, obj.(*typedv1alpha1.Parcel).Status.Phase)
			},
		})
		Expect(err).NotTo(HaveOccurred())
		cacheCtx, stop := context.WithCancel(ctx)
		DeferCleanup(stop)
		go func() {
			defer GinkgoRecover()
			Expect(informers.Start(cacheCtx)).To(Succeed())
		}()
		Expect(informers.WaitForCacheSync(cacheCtx)).To(BeTrue())

		cached := &typedv1alpha1.Parcel{}
		Expect(informers.Get(ctx, types.NamespacedName{Namespace: ns, Name: "inf1"}, cached)).To(Succeed())
		Expect(cached.Spec.ArticleID).To(Equal("INF1"))

		setPhase(cached.DeepCopy(), trackingv1alpha1.StatusLoadedByDriver)
		Eventually(func() []trackingv1alpha1.TrackingStatus {
			mu.Lock()
			defer mu.Unlock()
			return append([]trackingv1alpha1.TrackingStatus(nil), phases...)
		}).Should(ContainElement(trackingv1alpha1.StatusLoadedByDriver))
		Eventually(func(g Gomega) {
			g.Expect(informers.Get(ctx, types.NamespacedName{Namespace: ns, Name: "inf1"}, cached)).To(Succeed())
			g.Expect(cached.Status.Phase).To(Equal(trackingv1alpha1.StatusLoadedByDriver))
		}).Should(Succeed())
	})
})
