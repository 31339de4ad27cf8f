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
	"bytes"
	"net/http"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
	"github.com/parcelops/parcel-operator/internal/signature"
)

// The signature is checked before any answer that tells whether a parcel
// exists or already holds an event, and before any write (docs/architecture.md,
// "Signatures"). A wrongly signed update must therefore get the same 401,
// byte for byte, whatever the API server holds and whatever file it carries,
// and leave the parcels and the staging area as they were.
var _ = Describe("Wrongly signed updates", func() {
	It("get one and the same 401 and change nothing, for unknown, existing and duplicate parcels", func() {
		forger := []byte(randomToken())
		type sent struct {
			name string
			code int
			body []byte
		}
		var answers []sent
		for _, mayCreate := range []bool{true, false} {
			c := newSigningCourier(func(c *trackingv1alpha1.Courier) { c.Spec.AllowParcelCreation = ptr.To(mayCreate) })
			if !mayCreate {
				// deliverable needs a parcel to write to: a courier that may
				// not create one has it created by the API.
				Expect(k8sClient.Create(ctx, &trackingv1alpha1.Parcel{ObjectMeta: metav1.ObjectMeta{Namespace: c.ns, Name: trackingv1alpha1.ParcelName("VFY1")},
					Spec: trackingv1alpha1.ParcelSpec{ArticleID: "VFY1"}})).To(Succeed())
			}
			c.deliverable("VFY1")
			before := c.parcel("VFY1")
			recorded := before.Spec.Events[len(before.Spec.Events)-1].ID

			updates := map[string]string{
				"an unknown parcel":  update("VFY0", "Delivered", "2025-10-08T11:00:00Z", `"eventId":"vfy-e1"`),
				"an existing parcel": update("VFY1", "Delivered", "2025-10-08T11:00:00Z", `"eventId":"vfy-e1"`),
				"an event recorded":  update("VFY1", "In Transit", "2025-10-08T09:00:00Z", `"eventId":"`+recorded+`"`),
			}
			pods := map[string][]byte{"no file": nil, "a PDF": pdf(4096), "a file that is no POD": []byte("plain text")}
			for what, formData := range updates {
				for file, pod := range pods {
					var body []byte
					contentType := "application/json"
					if pod == nil {
						body = []byte(formData)
					} else {
						body, contentType = formBody(formData, pod)
					}
					req := (&courier{ns: c.ns, name: c.name, token: c.token}).request(http.MethodPost, UpdatePath, contentType,
						bytes.NewReader(body))
					req.Header.Set(signature.Header, signature.Sign(time.Now().Unix(), body, forger))
					a := do(req, UpdatePath)
					answers = append(answers, sent{name: what + " with " + file, code: a.code, body: a.body})
				}
			}

			Expect(stagedUploads(c.ns)).To(BeEmpty(), "no upload of a wrongly signed update is kept")
			after := c.parcel("VFY1")
			// The reconciler's status writes go on meanwhile: the spec is what
			// an update would write.
			Expect(after.Generation).To(Equal(before.Generation), "the existing parcel is not written")
			Expect(after.Spec).To(Equal(before.Spec), "the existing parcel is not written")
			Expect(c.parcelCount()).To(Equal(1), "the unknown parcel is not created")
		}
		Expect(answers).To(HaveLen(18))
		for _, a := range answers {
			Expect(a.code).To(Equal(http.StatusUnauthorized), "%s: %s", a.name, a.body)
			Expect(a.body).To(Equal(answers[0].body), "%s answers otherwise than %s", a.name, answers[0].name)
		}
	})
})
