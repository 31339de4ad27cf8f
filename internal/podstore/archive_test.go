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

package podstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"gocloud.dev/blob"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/parcelops/parcel-operator/api/v1alpha1"
	"github.com/parcelops/parcel-operator/internal/podstore"
)

const uid = types.UID("6f1c2a9e-4b7d-4e0a-9c53-2d8e1f0b7a64")

var (
	deliveredAt = time.Date(2025, 10, 8, 10, 15, 0, 0, time.UTC)
	archivedAt  = time.Date(2025, 11, 7, 10, 15, 0, 0, time.UTC)
)

// deliveredParcel is a Parcel as the API server returns it once delivered
// with a stored proof of delivery, marked for archiving.
func deliveredParcel() *v1alpha1.Parcel {
	digestPOD := digest(pdf(2048, 7))
	return &v1alpha1.Parcel{
		ObjectMeta: metav1.ObjectMeta{
			Name: parcel, Namespace: ns, UID: uid, ResourceVersion: "4711", Generation: 2,
			CreationTimestamp: metav1.NewTime(deliveredAt.Add(-3 * time.Hour)),
			Labels:            map[string]string{v1alpha1.ArticleIDLabel: article},
			Annotations: map[string]string{
				"example.com/customer":      "c-1042",
				v1alpha1.ArchivedAnnotation: "s3://pods/archive/acme/arp1000052447/" + string(uid) + ".json",
			},
		},
		Spec: v1alpha1.ParcelSpec{ArticleID: article, Events: []v1alpha1.TrackingEvent{
			{ID: "received", Status: v1alpha1.StatusReceivedInDepot, Time: metav1.NewTime(deliveredAt.Add(-2 * time.Hour))},
			{ID: "delivered", Status: v1alpha1.StatusDelivered, Time: metav1.NewTime(deliveredAt), Remarks: "Delivered successfully",
				ProofOfDelivery: &v1alpha1.ProofOfDeliveryUpload{
					StagingKey: "incoming/acme/delivered", SHA256: digestPOD, Size: 2048, ContentType: v1alpha1.ContentTypePDF,
				}},
		}},
		Status: v1alpha1.ParcelStatus{
			ObservedGeneration: 2,
			Phase:              v1alpha1.StatusDelivered,
			LastEventTime:      &metav1.Time{Time: deliveredAt},
			History: []v1alpha1.EventVerdict{
				{ID: "received", Result: v1alpha1.ResultApplied}, {ID: "delivered", Result: v1alpha1.ResultApplied},
			},
			ProofOfDelivery: []v1alpha1.StoredProofOfDelivery{{
				EventID: "delivered", URL: "s3://pods/pods/acme/arp1000052447/delivered.pdf", SHA256: digestPOD, Size: 2048,
				StoredAt: metav1.NewTime(deliveredAt.Add(time.Minute)),
			}},
			Conditions: []metav1.Condition{{
				Type: v1alpha1.ConditionReady, Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonReconciled,
				ObservedGeneration: 2, LastTransitionTime: metav1.NewTime(deliveredAt.Add(time.Minute)),
			}},
		},
	}
}

var _ = Describe("archive keys", func() {
	It("archives under archive/<namespace>/<parcel>/<uid>.json", func() {
		Expect(podstore.ArchiveKey("acme", "arp1000052447", uid)).
			To(Equal("archive/acme/arp1000052447/6f1c2a9e-4b7d-4e0a-9c53-2d8e1f0b7a64.json"))
	})
})

var _ = Describe("NewParcelArchive", func() {
	It("keeps identity, spec, status and POD links, and leaves out the archive mark", func() {
		p := deliveredParcel()
		doc := podstore.NewParcelArchive(p, archivedAt.Add(500*time.Millisecond))
		Expect(doc.Format).To(Equal("tracking.parcelops.io/parcel-archive/v1"))
		Expect(doc.ArchivedAt.Time).To(Equal(archivedAt), "whole seconds, as the JSON keeps them")
		Expect(doc.APIVersion).To(Equal("tracking.parcelops.io/v1alpha1"))
		Expect(doc.Kind).To(Equal("Parcel"))
		Expect(doc.Metadata).To(Equal(podstore.ArchivedMetadata{
			Name: parcel, Namespace: ns, UID: uid, ResourceVersion: "4711", Generation: 2,
			CreationTimestamp: p.CreationTimestamp,
			Labels:            map[string]string{v1alpha1.ArticleIDLabel: article},
			Annotations:       map[string]string{"example.com/customer": "c-1042"},
		}))
		Expect(doc.Spec).To(Equal(p.Spec))
		Expect(doc.Status).To(Equal(p.Status))
		Expect(doc.ProofOfDelivery).To(Equal([]podstore.ArchivedProofOfDelivery{{
			EventID: "delivered", Key: "pods/acme/arp1000052447/delivered.pdf",
			URL: "s3://pods/pods/acme/arp1000052447/delivered.pdf", SHA256: p.Status.ProofOfDelivery[0].SHA256,
			Size: 2048, ContentType: v1alpha1.ContentTypePDF,
		}}))
		Expect(p.Annotations).To(HaveKey(v1alpha1.ArchivedAnnotation), "the Parcel itself is not changed")
	})

	It("has no annotations when the archive mark was the only one, and no links without stored files", func() {
		p := deliveredParcel()
		p.Annotations = map[string]string{v1alpha1.ArchivedAnnotation: "s3://pods/x.json"}
		p.Status.ProofOfDelivery = nil
		doc := podstore.NewParcelArchive(p, archivedAt)
		Expect(doc.Metadata.Annotations).To(BeNil())
		Expect(doc.ProofOfDelivery).To(BeNil())
	})
})

var _ = DescribeTableSubtree("archiving to a Store",
	func(newBucket func(context.Context) (string, string)) {
		var (
			store      *podstore.Store
			raw        *blob.Bucket
			objectBase string
		)

		BeforeEach(func(ctx SpecContext) {
			var bucketURL string
			bucketURL, objectBase = newBucket(ctx)
			store, raw = openBucket(ctx, bucketURL)
		})

		keys := func(ctx context.Context) []string {
			GinkgoHelper()
			var got []string
			it := raw.List(&blob.ListOptions{})
			for {
				obj, err := it.Next(ctx)
				if errors.Is(err, io.EOF) {
					return got
				}
				Expect(err).NotTo(HaveOccurred())
				got = append(got, obj.Key)
			}
		}
		expectSemanticEqual := func(got, want *podstore.ParcelArchive) {
			GinkgoHelper()
			// Decoded times are in the local zone; Semantic compares instants.
			Expect(equality.Semantic.DeepEqual(got, want)).To(BeTrue(), "got %+v\nwant %+v", got, want)
		}

		It("writes one JSON document, verified, that reads back as the Parcel was", func(ctx SpecContext) {
			p := deliveredParcel()
			archived, err := store.Archive(ctxTimeout(ctx), p, archivedAt)
			Expect(err).NotTo(HaveOccurred())

			key := "archive/acme/arp1000052447/" + string(uid) + ".json"
			written, err := raw.ReadAll(ctx, key)
			Expect(err).NotTo(HaveOccurred())
			Expect(archived).To(Equal(podstore.Archived{
				Key: key, URL: objectBase + "/" + key, SHA256: digest(written), Size: int64(len(written)),
			}))
			Expect(keys(ctx)).To(ConsistOf(key))
			attrs, err := raw.Attributes(ctx, key)
			Expect(err).NotTo(HaveOccurred())
			Expect(attrs.ContentType).To(HavePrefix("application/json"))
			Expect(attrs.Metadata).To(HaveKeyWithValue("sha256", digest(written)))
			Expect(attrs.Metadata).To(HaveKeyWithValue("article-id", article))

			var generic map[string]any
			Expect(json.Unmarshal(written, &generic)).To(Succeed())
			Expect(generic).To(HaveKeyWithValue("format", "tracking.parcelops.io/parcel-archive/v1"))
			Expect(generic).To(HaveKeyWithValue("archivedAt", "2025-11-07T10:15:00Z"))

			doc, err := store.ReadArchive(ctx, key)
			Expect(err).NotTo(HaveOccurred())
			expectSemanticEqual(doc, podstore.NewParcelArchive(p, archivedAt))
		})

		It("replaces the archive with a later state of the same Parcel, and keeps a re-created one's apart", func(ctx SpecContext) {
			p := deliveredParcel()
			first, err := store.Archive(ctxTimeout(ctx), p, archivedAt)
			Expect(err).NotTo(HaveOccurred())

			p.ResourceVersion = "4712"
			p.Spec.Events = append(p.Spec.Events, v1alpha1.TrackingEvent{
				ID: "rescan", Status: v1alpha1.StatusDelivered, Time: metav1.NewTime(deliveredAt.Add(time.Hour)),
			})
			again, err := store.Archive(ctxTimeout(ctx), p, archivedAt.Add(time.Minute))
			Expect(err).NotTo(HaveOccurred())
			Expect(again.Key).To(Equal(first.Key))
			Expect(again.SHA256).NotTo(Equal(first.SHA256))
			doc, err := store.ReadArchive(ctx, again.Key)
			Expect(err).NotTo(HaveOccurred())
			Expect(doc.Metadata.ResourceVersion).To(Equal("4712"))
			Expect(doc.Spec.Events).To(HaveLen(3))

			recreated := deliveredParcel()
			recreated.UID = "0d4e7b21-93c5-4f8a-b6e2-71a0c9d35f18"
			other, err := store.Archive(ctxTimeout(ctx), recreated, archivedAt)
			Expect(err).NotTo(HaveOccurred())
			Expect(other.Key).To(Equal("archive/acme/arp1000052447/0d4e7b21-93c5-4f8a-b6e2-71a0c9d35f18.json"))
			Expect(keys(ctx)).To(ConsistOf(first.Key, other.Key))
		})

		It("refuses to read back a document changed since it was written", func(ctx SpecContext) {
			archived, err := store.Archive(ctxTimeout(ctx), deliveredParcel(), archivedAt)
			Expect(err).NotTo(HaveOccurred())
			tampered := deliveredParcel()
			tampered.Status.Phase = v1alpha1.StatusReturnToSender
			body, err := json.Marshal(podstore.NewParcelArchive(tampered, archivedAt))
			Expect(err).NotTo(HaveOccurred())
			Expect(raw.WriteAll(ctx, archived.Key, body, &blob.WriterOptions{
				ContentType: "application/json", Metadata: map[string]string{"sha256": archived.SHA256},
			})).To(Succeed())

			_, err = store.ReadArchive(ctx, archived.Key)
			Expect(err).To(MatchError(podstore.ErrVerificationFailed))
		})

		It("refuses a document of another format", func(ctx SpecContext) {
			key := podstore.ArchiveKey(ns, parcel, uid)
			Expect(raw.WriteAll(ctx, key, []byte(`{"format":"parcel-archive/v0"}`), nil)).To(Succeed())
			_, err := store.ReadArchive(ctx, key)
			Expect(err).To(MatchError(ContainSubstring(`has format "parcel-archive/v0"`)))
		})

		DescribeTable("refuses a Parcel whose key would leave the layout, writing nothing",
			func(ctx SpecContext, mutate func(*v1alpha1.Parcel)) {
				p := deliveredParcel()
				mutate(p)
				_, err := store.Archive(ctxTimeout(ctx), p, archivedAt)
				Expect(err).To(MatchError(podstore.ErrInvalidKey))
				Expect(keys(ctx)).To(BeEmpty())
			},
			Entry("a namespace with a slash", func(p *v1alpha1.Parcel) { p.Namespace = "acme/../other" }),
			Entry("a name with upper case", func(p *v1alpha1.Parcel) { p.Name = "ARP1000052447" }),
			Entry("no uid", func(p *v1alpha1.Parcel) { p.UID = "" }),
			Entry("a uid that climbs", func(p *v1alpha1.Parcel) { p.UID = "../../pods/acme/x" }),
		)

		DescribeTable("refuses to read a key outside archive/",
			func(ctx SpecContext, key string) {
				_, err := store.ReadArchive(ctx, key)
				Expect(err).To(MatchError(podstore.ErrInvalidKey))
			},
			Entry("a stored POD", "pods/acme/arp1000052447/delivered.pdf"),
			Entry("not JSON", "archive/acme/arp1000052447/"+string(uid)),
		)
	},
	Entry("file://", newFileBucket),
	Entry("s3:// (versitygw)", newS3Bucket),
)
