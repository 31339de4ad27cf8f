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
	"fmt"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"gocloud.dev/blob"

	"github.com/parcelops/parcel-operator/internal/podstore"
	"github.com/parcelops/parcel-operator/internal/s3test"
)

var _ = DescribeTableSubtree("sweeping the staging area",
	func(newBucket func(context.Context) (string, string)) {
		var (
			store *podstore.Store
			raw   *blob.Bucket
		)
		BeforeEach(func(ctx SpecContext) {
			bucketURL, _ := newBucket(ctx)
			store, raw = openBucket(ctx, bucketURL)
		})
		stage := func(ctx context.Context, namespace, eventID string) podstore.Staged {
			GinkgoHelper()
			staged, err := store.Stage(ctxTimeout(ctx), namespace, eventID, stream(pdf(2000, 7)), maxBytes)
			Expect(err).NotTo(HaveOccurred())
			return staged
		}
		// Object stores keep modification times to the second; cutoffs an
		// hour away make the specs independent of that resolution.
		past := func() time.Time { return time.Now().Add(-time.Hour) }
		future := func() time.Time { return time.Now().Add(time.Hour) }

		It("lists staged objects written before the cutoff, and nothing else", func(ctx SpecContext) {
			a := stage(ctx, "acme", "e1")
			b := stage(ctx, "globex", "e2")
			moved, err := store.Move(ctx, moveRequest("e3", stage(ctx, ns, "e3")))
			Expect(err).NotTo(HaveOccurred())
			for _, key := range []string{"incoming/acme/nested/e4", "incoming/README", "incoming/Not_A_Namespace/e5"} {
				Expect(raw.WriteAll(ctx, key, []byte("%PDF-1.7\n"), nil)).To(Succeed())
			}

			Expect(store.ListStaged(ctx, past())).To(BeEmpty(), "nothing is older than an hour")
			found, err := store.ListStaged(ctx, future())
			Expect(err).NotTo(HaveOccurred())
			Expect(found).To(ConsistOf(
				And(HaveField("Key", a.Key), HaveField("Namespace", "acme"), HaveField("EventID", "e1"),
					HaveField("ModTime", BeTemporally("~", time.Now(), time.Minute))),
				And(HaveField("Key", b.Key), HaveField("Namespace", "globex"), HaveField("EventID", "e2")),
			), "stored files (%s) and keys outside the layout are never candidates", moved.Key)
		})

		It("deletes a staged object", func(ctx SpecContext) {
			staged := stage(ctx, ns, "e1")
			Expect(store.DeleteStaged(ctx, staged.Key)).To(BeTrue())
			Expect(store.Exists(ctx, staged.Key)).To(BeFalse())
			Expect(store.DeleteStaged(ctx, staged.Key)).To(BeFalse(), "an object already gone is no error")
		})

		It("keeps a courier's retry, staged under a key of its own, when its predecessor's upload is deleted", func(ctx SpecContext) {
			first := stage(ctx, ns, "e1")
			retry := stage(ctx, ns, "e1")
			Expect(store.DeleteStaged(ctx, first.Key)).To(BeTrue())
			Expect(store.Exists(ctx, retry.Key)).To(BeTrue())
		})

		It("refuses keys outside the staging area", func(ctx SpecContext) {
			moved, err := store.Move(ctx, moveRequest("e1", stage(ctx, ns, "e1")))
			Expect(err).NotTo(HaveOccurred())
			for _, key := range []string{moved.Key, "incoming/acme/../pods/x", "incoming/acme", "other/acme/e1"} {
				_, err := store.DeleteStaged(ctx, key)
				Expect(err).To(MatchError(podstore.ErrInvalidKey), key)
			}
			Expect(store.Exists(ctx, moved.Key)).To(BeTrue())
		})
	},
	Entry("file://", newFileBucket),
	Entry("s3:// (versitygw)", newS3Bucket),
)

var _ = Describe("aborting stale multipart uploads", func() {
	It("aborts the unfinished uploads under incoming/ and pods/ started before the cutoff, and only those", func(ctx SpecContext) {
		requireS3()
		name := fmt.Sprintf("pods-%d", bucketCounter.Add(1))
		Expect(s3Server.CreateBucket(ctx, name)).To(Succeed())
		store, err := podstore.Open(ctx, s3Server.BucketURL(name))
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(store.Close)

		// What a writer killed mid-upload leaves behind, and an upload of
		// someone else's sharing the bucket.
		client := s3.New(s3.Options{
			Region:       s3test.Region,
			BaseEndpoint: aws.String(s3Server.Endpoint()),
			UsePathStyle: true,
			Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
				return aws.Credentials{AccessKeyID: s3test.AccessKey, SecretAccessKey: s3test.SecretKey}, nil
			}),
		})
		for _, key := range []string{"incoming/acme/e1", "pods/acme/arp1000052447/e2.pdf", "backups/db.tar"} {
			_, err := client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(name), Key: aws.String(key)})
			Expect(err).NotTo(HaveOccurred())
		}

		Expect(store.AbortStaleUploads(ctx, time.Now().Add(-time.Hour))).To(Equal(0), "nothing started before an hour ago")
		Expect(s3Server.MultipartUploads(ctx, name)).To(HaveLen(3))
		Expect(store.AbortStaleUploads(ctx, time.Now().Add(time.Hour))).To(Equal(2))
		Expect(s3Server.MultipartUploads(ctx, name)).To(ConsistOf("backups/db.tar"))
	})

	It("has nothing to do on a bucket without multipart uploads", func(ctx SpecContext) {
		store, err := podstore.Open(ctx, "file://"+filepath.Join(GinkgoT().TempDir(), "pods"))
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(store.Close)
		Expect(store.AbortStaleUploads(ctx, time.Now().Add(time.Hour))).To(Equal(0))
	})
})
