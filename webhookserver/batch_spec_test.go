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

package webhookserver

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
)

// postBatch posts updates as one batch to the server at base.
func (c *courier) postBatch(base string, updates ...string) (answer, BatchAnswer) {
	GinkgoHelper()
	body := "[" + strings.Join(updates, ",") + "]"
	a := do(c.requestTo(base, http.MethodPost, BatchPath, "application/json", strings.NewReader(body)), BatchPath)
	var b BatchAnswer
	if a.header.Get("Content-Type") == "application/json" {
		Expect(json.Unmarshal(a.body, &b)).To(Succeed(), "%s", a.body)
		Expect(b.Results).To(HaveLen(len(updates)))
		for i, r := range b.Results {
			Expect(r.Index).To(Equal(i))
		}
	}
	return a, b
}

// results is what a batch answer says of each update: its code and its
// result or problem type.
func results(b BatchAnswer) []string {
	out := make([]string, len(b.Results))
	for i, r := range b.Results {
		switch {
		case r.Answer != nil:
			out[i] = http.StatusText(r.Code) + " " + r.Answer.Result
		case r.Problem != nil:
			out[i] = http.StatusText(r.Code) + " " + strings.TrimPrefix(r.Problem.Type, problemTypeBase)
		}
	}
	return out
}

// failCreateOf is the server's client, but the Kubernetes API answers 503
// to the creation of the Parcel called name.
type failCreateOf struct {
	client.Client
	name string
}

func (f failCreateOf) Create(ctx context.Context, obj client.Object, opts ...client.CreateOption) error {
	if obj.GetName() == f.name {
		return apierrors.NewServiceUnavailable("etcd is down")
	}
	return f.Client.Create(ctx, obj, opts...)
}

var _ = Describe("The batch endpoint", func() {
	It("records each parcel's updates in one write, in order, and answers every update, a bad one refusing only itself", func() {
		c := newSigningCourier()
		Expect(c.postJSON(update("BAT0", "Received in Depo", "2025-10-08T07:00:00Z")).code).To(Equal(http.StatusOK))
		Eventually(func() int { return len(c.parcel("BAT0").Spec.Events) }).Should(Equal(1))
		Eventually(func(g Gomega) {
			cached := &trackingv1alpha1.Parcel{}
			g.Expect(server.Client.Get(ctx, client.ObjectKey{Namespace: c.ns, Name: "bat0"}, cached)).To(Succeed())
		}).Should(Succeed())
		before := c.parcel("BAT0")

		a, b := c.postBatch(apiURL,
			update("BAT1", "Received in Depo", "2025-10-08T07:00:00Z"),
			update("BAT0", "Loaded by Driver", "2025-10-08T08:00:00Z"),
			update("BAT1", "Loaded by Driver", "2025-10-08T08:00:00Z"),
			update("BAT1", "Lost", "2025-10-08T08:30:00Z"),
			update("BAT0", "Received in Depo", "2025-10-08T07:00:00Z"),
			update("BAT1", "Delivered", "2025-10-08T09:00:00Z"),
			update("BAT1", "Received in Depo", "2025-10-08T07:00:00Z"),
			`{"articleId":"BAT2","track_status":"In Transit","extra":1}`,
			update("BAT0", "In Transit", "2025-10-08T09:00:00Z"),
		)
		Expect(a.code).To(Equal(http.StatusOK), "%s", a.body)
		Expect(results(b)).To(Equal([]string{
			"OK applied", "OK applied", "OK applied", "Bad Request invalid-request", "OK duplicate",
			"Conflict rejected", "OK duplicate", "Bad Request invalid-request", "OK applied",
		}))
		Expect(b.Recorded).To(Equal(7))
		Expect(b.Refused).To(Equal(2))
		Expect(b.Unknown).To(BeZero())
		Expect(b.Results[3].Problem.Errors).To(ContainElement(HaveField("Field", "track_status")))
		Expect(b.Results[5].Answer.Reason).To(ContainSubstring("Loaded by Driver -> Delivered"))

		By("writing each parcel once, its updates in the order sent")
		created := c.parcel("BAT1")
		Expect(created.Generation).To(Equal(int64(1)), "one create with all three events")
		Expect(created.Spec.Events).To(HaveLen(3))
		Expect(created.Spec.Events[0].Status).To(Equal(trackingv1alpha1.StatusReceivedInDepot))
		Expect(created.Spec.Events[2].Status).To(Equal(trackingv1alpha1.StatusDelivered))
		appended := c.parcel("BAT0")
		Expect(appended.Generation).To(Equal(before.Generation+1), "one patch with both new events")
		Expect(appended.Spec.Events).To(HaveLen(3))
		Expect(c.parcelCount()).To(Equal(2), "the bad update's parcel is not created")

		By("answering the same batch again duplicate, writing nothing")
		again, b := c.postBatch(apiURL, update("BAT0", "Loaded by Driver", "2025-10-08T08:00:00Z"),
			update("BAT1", "Delivered", "2025-10-08T09:00:00Z"))
		Expect(again.code).To(Equal(http.StatusOK), "%s", again.body)
		Eventually(func(g Gomega) {
			_, b = c.postBatch(apiURL, update("BAT0", "Loaded by Driver", "2025-10-08T08:00:00Z"),
				update("BAT1", "Delivered", "2025-10-08T09:00:00Z"))
			g.Expect(results(b)).To(Equal([]string{"OK duplicate", "OK duplicate"}))
		}).Should(Succeed())
	})

	It("counts a batch as one request per update against the courier's rate", func() {
		c := newCourier(func(obj *trackingv1alpha1.Courier) {
			obj.Spec.RateLimit = &trackingv1alpha1.RateLimit{RequestsPerSecond: 1, Burst: 5}
		})
		a, _ := c.postBatch(apiURL, update("RB1", "Received in Depo", "2025-10-08T07:00:00Z"),
			update("RB1", "Loaded by Driver", "2025-10-08T08:00:00Z"), update("RB1", "In Transit", "2025-10-08T09:00:00Z"))
		Expect(a.code).To(Equal(http.StatusOK), "%s", a.body)
		a, _ = c.postBatch(apiURL, update("RB2", "Received in Depo", "2025-10-08T07:00:00Z"),
			update("RB2", "Loaded by Driver", "2025-10-08T08:00:00Z"), update("RB2", "In Transit", "2025-10-08T09:00:00Z"))
		Expect(a.code).To(Equal(http.StatusTooManyRequests), "%s", a.body)
		Expect(a.json()["detail"]).To(ContainSubstring("a batch of 3 updates counts as 3 requests"))
		Expect(a.header.Get("Retry-After")).NotTo(BeEmpty())
		a, _ = c.postBatch(apiURL, update("RB3", "Received in Depo", "2025-10-08T07:00:00Z"))
		Expect(a.code).To(Equal(http.StatusOK), "the refused batch took only its own request's token: %s", a.body)
		Expect(c.parcelCount()).To(Equal(2))
	})

	It("answers 503 with Retry-After when the Kubernetes API fails mid-batch, says what was recorded, and a retry of the whole batch is safe", func() {
		c := newCourier()
		// The API server's own 503, for one parcel's write.
		failing := failCreateOf{Client: server.Client, name: "out2"}
		base := "http://" + serveOwn(func(s *Server) { s.Client = failing })
		batch := []string{
			update("OUT1", "Received in Depo", "2025-10-08T07:00:00Z"),
			update("OUT2", "Received in Depo", "2025-10-08T07:00:00Z"),
			update("OUT1", "Loaded by Driver", "2025-10-08T08:00:00Z"),
			update("OUT3", "Received in Depo", "2025-10-08T07:00:00Z"),
			`{"articleId":"OUT4"}`,
		}
		a, b := c.postBatch(base, batch...)
		Expect(a.code).To(Equal(http.StatusServiceUnavailable), "%s", a.body)
		Expect(a.header.Get("Retry-After")).To(Equal("5"))
		Expect(results(b)).To(Equal([]string{
			"OK applied", "Service Unavailable unavailable", "OK applied", "Service Unavailable unavailable", "Bad Request invalid-request",
		}))
		Expect(b.Recorded).To(Equal(2))
		Expect(b.Unknown).To(Equal(2))
		Expect(c.parcel("OUT1").Spec.Events).To(HaveLen(2))
		Expect(c.parcelCount()).To(Equal(1), "nothing after the outage is written")

		By("sending the whole batch again once the API is back")
		Eventually(func(g Gomega) {
			cached := &trackingv1alpha1.Parcel{}
			g.Expect(server.Client.Get(ctx, client.ObjectKey{Namespace: c.ns, Name: "out1"}, cached)).To(Succeed())
			g.Expect(cached.Spec.Events).To(HaveLen(2))
		}).Should(Succeed())
		a, b = c.postBatch(apiURL, batch...)
		Expect(a.code).To(Equal(http.StatusOK), "%s", a.body)
		Expect(results(b)).To(Equal([]string{"OK duplicate", "OK applied", "OK duplicate", "OK applied", "Bad Request invalid-request"}))
		Expect(c.parcel("OUT1").Spec.Events).To(HaveLen(2), "recorded once")
	})
})
