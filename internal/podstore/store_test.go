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
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"gocloud.dev/blob"

	"github.com/parcelops/parcel-operator/api/v1alpha1"
	"github.com/parcelops/parcel-operator/internal/podstore"
)

const (
	ns      = "acme"
	parcel  = "arp1000052447"
	article = "ARP1000052447"
	// maxBytes is the cap the specs stage with, unless they test the cap.
	maxBytes = 1 << 20
)

var _ = Describe("DetectContentType", func() {
	DescribeTable("recognises a file by its first bytes",
		func(head []byte, want v1alpha1.ProofOfDeliveryContentType) {
			got, ok := podstore.DetectContentType(head)
			Expect(got).To(Equal(want))
			Expect(ok).To(Equal(want != ""))
		},
		Entry("PDF", pdfHead, v1alpha1.ContentTypePDF),
		Entry("JPEG (JFIF)", jpegHead, v1alpha1.ContentTypeJPEG),
		Entry("JPEG, just the start-of-image marker", []byte{0xFF, 0xD8, 0xFF}, v1alpha1.ContentTypeJPEG),
		Entry("PNG", pngHead, v1alpha1.ContentTypePNG),
		Entry("WebP", webpHead, v1alpha1.ContentTypeWebP),
		Entry("HEIC (brand heic)", heicHead, v1alpha1.ContentTypeHEIC),
		Entry("HEIC (brand heix)", ftyp("heix", "mif1", "heix"), v1alpha1.ContentTypeHEIC),
		Entry("HEIC sequence (brand hevc)", ftyp("hevc", "msf1", "hevc"), v1alpha1.ContentTypeHEIC),
		Entry("HEIF, generic brand mif1, HEVC-coded", heifHEVCHead, v1alpha1.ContentTypeHEIC),
		Entry("HEIF, generic brand msf1", ftyp("msf1", "msf1"), v1alpha1.ContentTypeHEIC),
		Entry("AVIF (mif1 with brand avif) is not HEIC", avifHead, v1alpha1.ProofOfDeliveryContentType("")),
		Entry("MP4 video (ftyp isom)", mp4Head, v1alpha1.ProofOfDeliveryContentType("")),
		Entry("QuickTime (ftyp qt)", ftyp("qt  ", "qt  "), v1alpha1.ProofOfDeliveryContentType("")),
		Entry("PE executable (MZ)", peHead, v1alpha1.ProofOfDeliveryContentType("")),
		Entry("ZIP archive", zipHead, v1alpha1.ProofOfDeliveryContentType("")),
		Entry("plain text", []byte("Delivered to the front door, signed J. Smith"), v1alpha1.ProofOfDeliveryContentType("")),
		Entry("HTML", []byte("<!DOCTYPE html><html><body>%PDF-</body></html>"), v1alpha1.ProofOfDeliveryContentType("")),
		Entry("SVG", []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`), v1alpha1.ProofOfDeliveryContentType("")),
		Entry("a PDF signature after junk", append([]byte("junk"), pdfHead...), v1alpha1.ProofOfDeliveryContentType("")),
		Entry("empty", []byte{}, v1alpha1.ProofOfDeliveryContentType("")),
		Entry("nil", nil, v1alpha1.ProofOfDeliveryContentType("")),
		Entry("a PDF signature cut short", []byte("%PDF"), v1alpha1.ProofOfDeliveryContentType("")),
		Entry("a JPEG marker cut short", []byte{0xFF, 0xD8}, v1alpha1.ProofOfDeliveryContentType("")),
		Entry("a PNG signature cut short", pngHead[:7], v1alpha1.ProofOfDeliveryContentType("")),
		Entry("RIFF that is not WebP (WAV)", wavHead, v1alpha1.ProofOfDeliveryContentType("")),
		Entry("RIFF cut short before the form type", []byte("RIFF\x24\x00\x00\x00WEB"), v1alpha1.ProofOfDeliveryContentType("")),
		Entry("ftyp cut short before the brand", []byte("\x00\x00\x00\x18ftyphe"), v1alpha1.ProofOfDeliveryContentType("")),
	)
})

var _ = Describe("object keys", func() {
	It("stages under incoming/<namespace>/<event id>/<upload id>", func() {
		Expect(podstore.StagingKey("acme", "3f9a51c2e07d4b18", "0123456789abcdef")).
			To(Equal("incoming/acme/3f9a51c2e07d4b18/0123456789abcdef"))
		Expect(podstore.NewUploadID()).To(MatchRegexp(`^[a-f0-9]{16}$`))
		Expect(podstore.NewUploadID()).NotTo(Equal(podstore.NewUploadID()))
	})

	DescribeTable("parses staging keys, and only those",
		func(key, namespace, eventID, upload string, ok bool) {
			ns, id, up, parsed := podstore.ParseStagingKey(key)
			Expect(parsed).To(Equal(ok))
			Expect([]string{ns, id, up}).To(Equal([]string{namespace, eventID, upload}))
		},
		Entry("an upload", "incoming/acme/e1/0123456789abcdef", "acme", "e1", "0123456789abcdef", true),
		Entry("a key from before upload ids", "incoming/acme/e1", "acme", "e1", "", true),
		Entry("an upload id of 15 digits", "incoming/acme/e1/0123456789abcde", "", "", "", false),
		Entry("an upload id in capitals", "incoming/acme/e1/0123456789ABCDEF", "", "", "", false),
		Entry("one level too deep", "incoming/acme/e1/0123456789abcdef/x", "", "", "", false),
		Entry("a namespace only", "incoming/acme", "", "", "", false),
		Entry("climbing out", "incoming/acme/../pods", "", "", "", false),
		Entry("a stored file", "pods/acme/p/e1.pdf", "", "", "", false),
		Entry("an invalid namespace", "incoming/Acme/e1", "", "", "", false),
	)

	DescribeTable("stores under pods/<namespace>/<parcel>/<event id>.<ext>",
		func(ct v1alpha1.ProofOfDeliveryContentType, want string) {
			Expect(podstore.FinalKey("acme", "arp1000052447", "3f9a51c2e07d4b18", ct)).To(Equal(want))
		},
		Entry("PDF", v1alpha1.ContentTypePDF, "pods/acme/arp1000052447/3f9a51c2e07d4b18.pdf"),
		Entry("JPEG", v1alpha1.ContentTypeJPEG, "pods/acme/arp1000052447/3f9a51c2e07d4b18.jpg"),
		Entry("PNG", v1alpha1.ContentTypePNG, "pods/acme/arp1000052447/3f9a51c2e07d4b18.png"),
		Entry("WebP", v1alpha1.ContentTypeWebP, "pods/acme/arp1000052447/3f9a51c2e07d4b18.webp"),
		Entry("HEIC", v1alpha1.ContentTypeHEIC, "pods/acme/arp1000052447/3f9a51c2e07d4b18.heic"),
	)
})

var _ = Describe("Open", func() {
	DescribeTable("refuses a URL that carries credentials, without repeating them",
		func(ctx SpecContext, bucketURL, secret string) {
			_, err := podstore.Open(ctx, bucketURL)
			Expect(err).To(MatchError(podstore.ErrCredentialsInURL))
			Expect(err.Error()).NotTo(ContainSubstring(secret))
		},
		Entry("S3 keys as userinfo", "s3://AKIAEXAMPLE:wJalrXUtnFEMI@pods?region=us-east-1", "wJalrXUtnFEMI"),
		Entry("a user name alone", "s3://AKIAEXAMPLE@pods", "AKIAEXAMPLE"),
		Entry("an access key parameter", "s3://pods?access_key_id=AKIAEXAMPLE&region=us-east-1", "AKIAEXAMPLE"),
		Entry("a secret key parameter", "s3://pods?aws_secret_access_key=wJalrXUtnFEMI", "wJalrXUtnFEMI"),
		Entry("a session token", "s3://pods?X-Amz-Security-Token=FQoGZXIvYXdz", "FQoGZXIvYXdz"),
		Entry("userinfo in the endpoint", "s3://pods?endpoint="+urlEscape("http://minio:minio123@127.0.0.1:9000"), "minio123"),
		Entry("an Azure SAS token", "azblob://pods?sv=2022-11-02&sig=c2VjcmV0c2ln", "c2VjcmV0c2ln"),
		Entry("an Azure account key", "azblob://pods?account_key=a2V5a2V5", "a2V5a2V5"),
		Entry("a GCS token", "gs://pods?token=ya29.secret", "ya29.secret"),
		Entry("a file:// password", "file:///var/lib/pods?password=hunter2", "hunter2"),
	)

	DescribeTable("refuses a URL it cannot serve",
		func(ctx SpecContext, bucketURL, want string) {
			_, err := podstore.Open(ctx, bucketURL)
			Expect(err).To(MatchError(ContainSubstring(want)))
		},
		Entry("an unknown scheme", "http://pods.example", `unsupported bucket URL scheme "http"`),
		Entry("no bucket", "s3://?region=us-east-1", "names no bucket"),
		Entry("an unknown parameter", "s3://pods?colour=blue", `unsupported query parameter "colour"`),
		Entry("file:// without a directory", "file:///", "names no directory"),
		Entry("file:// on another host", "file://nas.example/pods", `not host "nas.example"`),
	)

	It("creates a missing file:// directory", func(ctx SpecContext) {
		dir := filepath.Join(GinkgoT().TempDir(), "not", "yet")
		store, err := podstore.Open(ctx, "file://"+dir)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(store.Close)
		Expect(dir).To(BeADirectory())
		Expect(store.Ping(ctx)).To(Succeed())
	})

	It("serves mem:// buckets, for tests of the code that uses it", func(ctx SpecContext) {
		store, err := podstore.Open(ctx, "mem://")
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(store.Close)
		data := pdf(2000, 7)
		staged, err := store.Stage(ctx, ns, "e1", stream(data), maxBytes)
		Expect(err).NotTo(HaveOccurred())
		stored, err := store.Move(ctx, moveRequest("e1", staged))
		Expect(err).NotTo(HaveOccurred())
		Expect(stored.URL).To(Equal("mem:///pods/acme/arp1000052447/e1.pdf"))
		Expect(store.Exists(ctx, stored.Key)).To(BeTrue())
		Expect(store.Exists(ctx, staged.Key)).To(BeFalse())
		Expect(store.ReadURL(ctx, stored.Key, 0)).To(Equal(stored.URL))
	})
})

// bucketCounter names a fresh S3 bucket per spec.
var bucketCounter atomic.Int64

// newFileBucket returns the URL of a fresh file:// bucket and the base of
// its object URLs.
func newFileBucket(_ context.Context) (bucketURL, objectBase string) {
	dir := filepath.Join(GinkgoT().TempDir(), "pods")
	return "file://" + dir, "file://" + dir
}

// newS3Bucket creates a fresh bucket on the versitygw test server.
func newS3Bucket(ctx context.Context) (bucketURL, objectBase string) {
	requireS3()
	name := fmt.Sprintf("pods-%d", bucketCounter.Add(1))
	Expect(s3Server.CreateBucket(ctx, name)).To(Succeed())
	return s3Server.BucketURL(name), "s3://" + name
}

// openBucket opens bucketURL twice until the spec ends: as a Store, and
// raw, to read and plant objects behind the store's back, as a crash or an
// operator with bucket access would leave them.
func openBucket(ctx context.Context, bucketURL string) (*podstore.Store, *blob.Bucket) {
	GinkgoHelper()
	store, err := podstore.Open(ctx, bucketURL)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(store.Close)
	raw, err := blob.OpenBucket(ctx, bucketURL)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(raw.Close)
	return store, raw
}

var _ = DescribeTableSubtree("a Store",
	func(newBucket func(context.Context) (string, string), isS3 bool) {
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

		stage := func(ctx context.Context, eventID string, data []byte) podstore.Staged {
			GinkgoHelper()
			staged, err := store.Stage(ctxTimeout(ctx), ns, eventID, stream(data), maxBytes)
			Expect(err).NotTo(HaveOccurred())
			return staged
		}
		keys := func(ctx context.Context, prefix string) []string {
			GinkgoHelper()
			var got []string
			it := raw.List(&blob.ListOptions{Prefix: prefix})
			for {
				obj, err := it.Next(ctx)
				if errors.Is(err, io.EOF) {
					return got
				}
				Expect(err).NotTo(HaveOccurred())
				got = append(got, obj.Key)
			}
		}
		content := func(ctx context.Context, key string) []byte {
			GinkgoHelper()
			b, err := raw.ReadAll(ctx, key)
			Expect(err).NotTo(HaveOccurred())
			return b
		}
		plant := func(ctx context.Context, key string, data []byte) {
			GinkgoHelper()
			Expect(raw.WriteAll(ctx, key, data, &blob.WriterOptions{ContentType: "application/pdf"})).To(Succeed())
		}

		It("stages a file, then moves it to its final key, verified", func(ctx SpecContext) {
			data := pdf(48213, 1)
			staged, err := store.Stage(ctx, ns, "3f9a51c2e07d4b18", stream(data), maxBytes)
			Expect(err).NotTo(HaveOccurred())
			Expect(staged.Key).To(MatchRegexp(`^incoming/acme/3f9a51c2e07d4b18/[a-f0-9]{16}$`))
			Expect(staged).To(Equal(podstore.Staged{
				Key:         staged.Key,
				SHA256:      digest(data),
				Size:        48213,
				ContentType: v1alpha1.ContentTypePDF,
			}))
			Expect(content(ctx, staged.Key)).To(Equal(data))

			stored, err := store.Move(ctx, moveRequest("3f9a51c2e07d4b18", staged))
			Expect(err).NotTo(HaveOccurred())
			key := "pods/acme/arp1000052447/3f9a51c2e07d4b18.pdf"
			Expect(stored).To(Equal(podstore.Stored{
				Key:    key,
				URL:    objectBase + "/" + key,
				SHA256: digest(data),
				Size:   48213,
			}))
			Expect(content(ctx, key)).To(Equal(data))
			attrs, err := raw.Attributes(ctx, key)
			Expect(err).NotTo(HaveOccurred())
			Expect(attrs.ContentType).To(Equal("application/pdf"))
			Expect(attrs.Metadata).To(HaveKeyWithValue("sha256", digest(data)))
			Expect(attrs.Metadata).To(HaveKeyWithValue("article-id", article))
			Expect(attrs.Metadata).To(HaveKeyWithValue("event-id", "3f9a51c2e07d4b18"))
			Expect(store.Exists(ctx, staged.Key)).To(BeFalse())
			Expect(keys(ctx, "")).To(ConsistOf(key))
		})

		It("stores each accepted type under its own extension and content type", func(ctx SpecContext) {
			for i, tc := range []struct {
				head []byte
				ct   string
				ext  string
			}{
				{jpegHead, "image/jpeg", "jpg"},
				{pngHead, "image/png", "png"},
				{webpHead, "image/webp", "webp"},
				{heicHead, "image/heic", "heic"},
			} {
				eventID := fmt.Sprintf("e%d", i)
				data := file(tc.head, 3000+i, uint64(i))
				stored, err := store.Move(ctx, moveRequest(eventID, stage(ctx, eventID, data)))
				Expect(err).NotTo(HaveOccurred())
				Expect(stored.Key).To(Equal("pods/acme/arp1000052447/" + eventID + "." + tc.ext))
				attrs, err := raw.Attributes(ctx, stored.Key)
				Expect(err).NotTo(HaveOccurred())
				Expect(attrs.ContentType).To(Equal(tc.ct))
				Expect(content(ctx, stored.Key)).To(Equal(data))
			}
		})

		Describe("Stage", func() {
			It("accepts a file of exactly the cap", func(ctx SpecContext) {
				staged, err := store.Stage(ctx, ns, "e1", stream(pdf(100<<10, 2)), 100<<10)
				Expect(err).NotTo(HaveOccurred())
				Expect(staged.Size).To(Equal(int64(100 << 10)))
			})

			DescribeTable("refuses a file over the cap and leaves no object",
				func(ctx SpecContext, size int, limit int64) {
					_, err := store.Stage(ctx, ns, "e1", stream(pdf(size, 3)), limit)
					Expect(err).To(MatchError(podstore.ErrTooLarge))
					Expect(keys(ctx, "")).To(BeEmpty())
				},
				Entry("one byte over", 100<<10+1, int64(100<<10)),
				Entry("three times over", 300<<10, int64(100<<10)),
				Entry("over before the type is even known", 2000, int64(100)),
			)

			DescribeTable("refuses what is not a proof of delivery and writes nothing",
				func(ctx SpecContext, data []byte, want error) {
					_, err := store.Stage(ctx, ns, "e1", stream(data), maxBytes)
					Expect(err).To(MatchError(want))
					Expect(keys(ctx, "")).To(BeEmpty())
				},
				Entry("a PE executable", file(peHead, 4096, 4), podstore.ErrUnsupportedType),
				Entry("a ZIP archive", file(zipHead, 4096, 5), podstore.ErrUnsupportedType),
				Entry("text", []byte("not a pdf"), podstore.ErrUnsupportedType),
				Entry("nothing at all", []byte{}, podstore.ErrEmpty),
			)

			It("aborts the write when the upload breaks off, and says why", func(ctx SpecContext) {
				r := &failingReader{data: pdf(40<<10, 6), err: io.ErrUnexpectedEOF}
				_, err := store.Stage(ctx, ns, "e1", r, maxBytes)
				Expect(err).To(MatchError(io.ErrUnexpectedEOF))
				Expect(keys(ctx, "")).To(BeEmpty())
			})

			It("stages each upload of one event apart, and discards one without touching the other", func(ctx SpecContext) {
				first, second := pdf(5000, 8), pdf(7000, 9)
				recorded := stage(ctx, "e1", first)
				refused := stage(ctx, "e1", second)
				Expect(keys(ctx, "")).To(ConsistOf(recorded.Key, refused.Key))
				Expect(store.DeleteStaged(ctx, refused.Key)).To(BeTrue())
				Expect(store.DeleteStaged(ctx, refused.Key)).To(BeFalse(), "already gone is not an error")
				Expect(keys(ctx, "")).To(ConsistOf(recorded.Key))
				Expect(content(ctx, recorded.Key)).To(Equal(first))
				_, err := store.DeleteStaged(ctx, "pods/acme/p/e1.pdf")
				Expect(err).To(MatchError(podstore.ErrInvalidKey))
			})

			DescribeTable("refuses keys outside the layout",
				func(ctx SpecContext, namespace, eventID string) {
					_, err := store.Stage(ctx, namespace, eventID, stream(pdf(100, 10)), maxBytes)
					Expect(err).To(MatchError(podstore.ErrInvalidKey))
					Expect(keys(ctx, "")).To(BeEmpty())
				},
				Entry("a namespace that climbs out", "..", "e1"),
				Entry("a namespace with a slash", "acme/pods", "e1"),
				Entry("an upper-case namespace", "Acme", "e1"),
				Entry("an event id that climbs out", ns, "../../pods/acme/x"),
				Entry("an event id with a slash", ns, "a/b"),
				Entry("an event id starting with a dot", ns, ".hidden"),
				Entry("an empty event id", ns, ""),
				Entry("an event id over 64 characters", ns, strings.Repeat("a", 65)),
			)
		})

		Describe("Move", func() {
			It("converges after a crash between writing the final object and deleting the staged one", func(ctx SpecContext) {
				data := pdf(9000, 11)
				staged := stage(ctx, "e1", data)
				final := podstore.FinalKey(ns, parcel, "e1", v1alpha1.ContentTypePDF)
				plant(ctx, final, data)

				stored, err := store.Move(ctx, moveRequest("e1", staged))
				Expect(err).NotTo(HaveOccurred())
				Expect(stored.Key).To(Equal(final))
				Expect(content(ctx, final)).To(Equal(data))
				Expect(keys(ctx, "")).To(ConsistOf(final))
			})

			It("is done when the staged object is gone and the final one verifies", func(ctx SpecContext) {
				data := pdf(9000, 12)
				staged := stage(ctx, "e1", data)
				first, err := store.Move(ctx, moveRequest("e1", staged))
				Expect(err).NotTo(HaveOccurred())
				Expect(store.Exists(ctx, staged.Key)).To(BeFalse())

				again, err := store.Move(ctx, moveRequest("e1", staged))
				Expect(err).NotTo(HaveOccurred())
				Expect(again).To(Equal(first))
				Expect(content(ctx, first.Key)).To(Equal(data))
			})

			It("reports ErrStagedMissing when neither the staged nor a verified final object exists", func(ctx SpecContext) {
				staged := stage(ctx, "e1", pdf(9000, 13))
				Expect(raw.Delete(ctx, staged.Key)).To(Succeed())

				_, err := store.Move(ctx, moveRequest("e1", staged))
				Expect(err).To(MatchError(podstore.ErrStagedMissing))
				Expect(keys(ctx, "")).To(BeEmpty())
			})

			DescribeTable("replaces a bad final object from the staged copy",
				func(ctx SpecContext, corrupt func([]byte) []byte) {
					data := pdf(9000, 14)
					staged := stage(ctx, "e1", data)
					final := podstore.FinalKey(ns, parcel, "e1", v1alpha1.ContentTypePDF)
					plant(ctx, final, corrupt(data))

					_, err := store.Move(ctx, moveRequest("e1", staged))
					Expect(err).NotTo(HaveOccurred())
					Expect(content(ctx, final)).To(Equal(data))
					attrs, err := raw.Attributes(ctx, final)
					Expect(err).NotTo(HaveOccurred())
					Expect(attrs.Metadata).To(HaveKeyWithValue("sha256", digest(data)))
					Expect(keys(ctx, "")).To(ConsistOf(final))
				},
				Entry("same size, other bytes", func(b []byte) []byte { return pdf(len(b), 99) }),
				Entry("truncated", func(b []byte) []byte { return b[:len(b)/2] }),
				Entry("empty", func([]byte) []byte { return []byte{} }),
			)

			DescribeTable("refuses a staged file that is not the recorded one, storing nothing and keeping it",
				func(ctx SpecContext, tamper func(context.Context, *v1alpha1.ProofOfDeliveryUpload), wantMessage []string) {
					data := pdf(9000, 15)
					staged := stage(ctx, "e1", data)
					req := moveRequest("e1", staged)
					tamper(ctx, &req.Upload)

					_, err := store.Move(ctx, req)
					Expect(err).To(MatchError(podstore.ErrVerificationFailed))
					for _, want := range wantMessage {
						Expect(err.Error()).To(ContainSubstring(want))
					}
					Expect(err.Error()).NotTo(ContainSubstring("Catalog"), "the message must not carry file content")
					Expect(keys(ctx, "pods/")).To(BeEmpty())
					Expect(keys(ctx, "")).To(ConsistOf(staged.Key))
				},
				Entry("another digest recorded",
					func(_ context.Context, up *v1alpha1.ProofOfDeliveryUpload) { up.SHA256 = digest([]byte("other")) },
					[]string{"9000 bytes", digest([]byte("other")), digest(pdf(9000, 15))}),
				Entry("another size recorded",
					func(_ context.Context, up *v1alpha1.ProofOfDeliveryUpload) { up.Size = 9001 },
					[]string{"9000 bytes", "9001"}),
				Entry("the staged bytes changed after they were recorded",
					func(ctx context.Context, up *v1alpha1.ProofOfDeliveryUpload) {
						plant(ctx, up.StagingKey, pdf(9000, 16))
					},
					[]string{digest(pdf(9000, 16)), digest(pdf(9000, 15))}),
			)

			DescribeTable("refuses a request outside the layout",
				func(ctx SpecContext, change func(*podstore.MoveRequest)) {
					staged := stage(ctx, "e1", pdf(1000, 17))
					req := moveRequest("e1", staged)
					change(&req)
					_, err := store.Move(ctx, req)
					Expect(err).To(MatchError(podstore.ErrInvalidKey))
					Expect(keys(ctx, "")).To(ConsistOf(staged.Key))
				},
				Entry("another namespace's staging key", func(r *podstore.MoveRequest) {
					r.Upload.StagingKey = "incoming/other/e1/0123456789abcdef"
				}),
				Entry("another event's staging key", func(r *podstore.MoveRequest) {
					r.Upload.StagingKey = "incoming/acme/e2/0123456789abcdef"
				}),
				Entry("a staging key without the layout", func(r *podstore.MoveRequest) { r.Upload.StagingKey = "incoming/acme/e1/x" }),
				Entry("a staging key that climbs out", func(r *podstore.MoveRequest) { r.Upload.StagingKey = "incoming/acme/../../pods/x" }),
				Entry("a parcel name that climbs out", func(r *podstore.MoveRequest) { r.Parcel = "../other" }),
				Entry("a content type with no file extension", func(r *podstore.MoveRequest) { r.Upload.ContentType = "image/gif" }),
			)
		})

		It("deletes only the parcel's own stored files", func(ctx SpecContext) {
			move := func(namespace, parcelName, eventID string) string {
				GinkgoHelper()
				staged, err := store.Stage(ctx, namespace, eventID, stream(pdf(500, 18)), maxBytes)
				Expect(err).NotTo(HaveOccurred())
				req := moveRequest(eventID, staged)
				req.Namespace, req.Parcel = namespace, parcelName
				stored, err := store.Move(ctx, req)
				Expect(err).NotTo(HaveOccurred())
				return stored.Key
			}
			move(ns, "p1", "e1")
			move(ns, "p1", "e2")
			keep := []string{move(ns, "p10", "e3"), move("other", "p1", "e4")}
			keep = append(keep, stage(ctx, "e5", pdf(500, 19)).Key)

			Expect(store.DeleteParcel(ctx, ns, "p1")).To(Succeed())
			Expect(keys(ctx, "")).To(ConsistOf(keep))
			Expect(store.DeleteParcel(ctx, ns, "never-seen")).To(Succeed())
			Expect(store.DeleteParcel(ctx, ns, "")).To(MatchError(podstore.ErrInvalidKey))
		})

		It("addresses objects by a stable, credential-free URL", func(ctx SpecContext) {
			data := pdf(3000, 20)
			stored, err := store.Move(ctx, moveRequest("e1", stage(ctx, "e1", data)))
			Expect(err).NotTo(HaveOccurred())
			Expect(store.ObjectURL(stored.Key)).To(Equal(objectBase + "/pods/acme/arp1000052447/e1.pdf"))
			Expect(stored.URL).NotTo(ContainSubstring("?"))

			readURL, err := store.ReadURL(ctx, stored.Key, 0)
			Expect(err).NotTo(HaveOccurred())
			if !isS3 {
				Expect(readURL).To(Equal(stored.URL))
				return
			}
			Expect(readURL).To(ContainSubstring("X-Amz-Signature="))
			resp, err := http.Get(readURL)
			Expect(err).NotTo(HaveOccurred())
			defer func() { _ = resp.Body.Close() }()
			Expect(resp.StatusCode).To(Equal(http.StatusOK))
			Expect(io.ReadAll(resp.Body)).To(Equal(data))
		})

		It("downloads a stored file verified, and refuses one that differs from the record or lies elsewhere", func(ctx SpecContext) {
			data := pdf(5000, 21)
			stored, err := store.Move(ctx, moveRequest("e2", stage(ctx, "e2", data)))
			Expect(err).NotTo(HaveOccurred())
			pod := v1alpha1.StoredProofOfDelivery{EventID: "e2", URL: stored.URL, SHA256: stored.SHA256, Size: stored.Size}
			var got bytes.Buffer
			Expect(store.Download(ctx, pod, &got)).To(Succeed())
			Expect(got.Bytes()).To(Equal(data))

			Expect(store.KeyOf(stored.URL)).To(Equal(stored.Key))
			_, err = store.KeyOf("s3://elsewhere/" + stored.Key)
			Expect(err).To(MatchError(podstore.ErrOtherBucket))
			_, err = store.KeyOf(objectBase + "/incoming/acme/e2/0123456789abcdef")
			Expect(err).To(MatchError(podstore.ErrOtherBucket))

			Expect(raw.WriteAll(ctx, stored.Key, pdf(5000, 22), nil)).To(Succeed())
			err = store.Download(ctx, pod, io.Discard)
			Expect(err).To(MatchError(podstore.ErrVerificationFailed))
			Expect(err.Error()).To(ContainSubstring("the parcel records 5000 bytes with sha256 " + stored.SHA256))
			Expect(raw.WriteAll(ctx, stored.Key, data[:4999], nil)).To(Succeed())
			Expect(store.Download(ctx, pod, io.Discard)).To(MatchError(podstore.ErrVerificationFailed))
			Expect(raw.Delete(ctx, stored.Key)).To(Succeed())
			Expect(store.Download(ctx, pod, io.Discard)).To(MatchError(ContainSubstring("does not exist")))
		})

		// Well over S3's 5 MiB multipart threshold, so uploads take the
		// multipart path.
		const bigSize = 40 << 20

		It("streams files: its memory does not grow with the file's size", func(ctx SpecContext) {
			// stageAndMove returns the bytes allocated while staging and
			// moving a generated file of size bytes.
			stageAndMove := func(eventID string, size int64, seed uint64) (stageAllocs, moveAllocs uint64) {
				GinkgoHelper()
				want := streamDigest(generatedPDF(size, seed))
				var staged podstore.Staged
				stageAllocs = allocated(func() {
					var err error
					staged, err = store.Stage(ctx, ns, eventID, generatedPDF(size, seed), 64<<20)
					Expect(err).NotTo(HaveOccurred())
				})
				Expect(staged.SHA256).To(Equal(want))
				Expect(staged.Size).To(Equal(size))
				var stored podstore.Stored
				moveAllocs = allocated(func() {
					var err error
					stored, err = store.Move(ctx, moveRequest(eventID, staged))
					Expect(err).NotTo(HaveOccurred())
				})
				Expect(stored.SHA256).To(Equal(want))
				return stageAllocs, moveAllocs
			}
			const smallSize = 10 << 20
			smallStage, smallMove := stageAndMove("e1", smallSize, 30)
			bigStage, bigMove := stageAndMove("e2", bigSize, 31)
			GinkgoWriter.Printf("allocated: staging %d KiB, moving %d KiB a %d KiB file; staging %d KiB, moving %d KiB a %d KiB file\n",
				smallStage>>10, smallMove>>10, smallSize>>10, bigStage>>10, bigMove>>10, bigSize>>10)

			// Holding a file whole would allocate at least its size, so the
			// 30 MiB more would show in full. A streaming store's buffers
			// (on S3: the SDK's two 5 MiB parts) do not depend on the size.
			const extra = bigSize - smallSize
			Expect(int64(bigStage) - int64(smallStage)).To(BeNumerically("<", extra/4))
			Expect(int64(bigMove) - int64(smallMove)).To(BeNumerically("<", extra/4))
		})

		It("aborts an oversize multipart upload without a trace", func(ctx SpecContext) {
			_, err := store.Stage(ctx, ns, "e1", generatedPDF(bigSize, 31), 12<<20)
			Expect(err).To(MatchError(podstore.ErrTooLarge))
			Expect(keys(ctx, "")).To(BeEmpty())
			if isS3 {
				Expect(s3Server.MultipartUploads(ctx, strings.TrimPrefix(objectBase, "s3://"))).To(BeEmpty())
			}
		})

		It("answers Ping and Exists", func(ctx SpecContext) {
			Expect(store.Ping(ctx)).To(Succeed())
			staged := stage(ctx, "e1", pdf(100, 21))
			Expect(store.Exists(ctx, staged.Key)).To(BeTrue())
			Expect(store.Exists(ctx, "incoming/acme/e2")).To(BeFalse())
		})
	},
	Entry("file://", newFileBucket, false),
	Entry("s3:// (versitygw)", newS3Bucket, true),
)

var _ = Describe("a file:// Store", func() {
	It("fails Ping once its directory is gone", func(ctx SpecContext) {
		dir := filepath.Join(GinkgoT().TempDir(), "pods")
		store, err := podstore.Open(ctx, "file://"+dir)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(store.Close)
		Expect(store.Ping(ctx)).To(Succeed())
		Expect(os.RemoveAll(dir)).To(Succeed())
		Expect(store.Ping(ctx)).NotTo(Succeed())
	})
})

var _ = Describe("an s3:// Store on a bucket that does not exist", func() {
	It("fails Ping, saying so", func(ctx SpecContext) {
		requireS3()
		store, err := podstore.Open(ctx, s3Server.BucketURL("never-created"))
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(store.Close)
		Expect(store.Ping(ctx)).To(MatchError(ContainSubstring("bucket s3://never-created does not exist")))
	})
})

var _ = Describe("an s3:// Store whose server goes down and comes back", func() {
	It("returns errors (not a verdict) while the store is down, and recovers", func(ctx SpecContext) {
		requireS3()
		bucketURL, _ := newS3Bucket(ctx)
		store, err := podstore.Open(ctx, bucketURL)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(store.Close)
		data := pdf(20000, 22)
		staged, err := store.Stage(ctx, ns, "e1", stream(data), maxBytes)
		Expect(err).NotTo(HaveOccurred())

		Expect(s3Server.Stop()).To(Succeed())
		down := true
		DeferCleanup(func() {
			if down {
				Expect(s3Server.Restart()).To(Succeed())
			}
		})

		Expect(store.Ping(ctxTimeout(ctx))).NotTo(Succeed())
		_, err = store.Stage(ctxTimeout(ctx), ns, "e2", stream(pdf(1000, 23)), maxBytes)
		expectTransient(err)
		_, err = store.Move(ctxTimeout(ctx), moveRequest("e1", staged))
		expectTransient(err)
		_, err = store.Exists(ctxTimeout(ctx), staged.Key)
		expectTransient(err)

		Expect(s3Server.Restart()).To(Succeed())
		down = false
		Expect(store.Ping(ctx)).To(Succeed())
		stored, err := store.Move(ctx, moveRequest("e1", staged))
		Expect(err).NotTo(HaveOccurred())
		Expect(stored.SHA256).To(Equal(digest(data)))
		_, err = store.Stage(ctx, ns, "e2", stream(pdf(1000, 23)), maxBytes)
		Expect(err).NotTo(HaveOccurred())
	})
})

// expectTransient asserts an error the caller must retry: not nil, and
// none of the terminal verdicts (a store that is down must never read as
// "staged file missing", or the reconciler would give up on the POD).
func expectTransient(err error) {
	GinkgoHelper()
	Expect(err).To(HaveOccurred())
	GinkgoWriter.Printf("transient: %v\n", err)
	for _, terminal := range []error{
		podstore.ErrTooLarge, podstore.ErrUnsupportedType, podstore.ErrEmpty,
		podstore.ErrStagedMissing, podstore.ErrVerificationFailed, podstore.ErrInvalidKey,
	} {
		Expect(err).NotTo(MatchError(terminal))
	}
}

// allocated reports the bytes the process allocated while f ran.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func moveRequest(eventID string, staged podstore.Staged) podstore.MoveRequest {
	return podstore.MoveRequest{
		Namespace: ns,
		Parcel:    parcel,
		ArticleID: article,
		EventID:   eventID,
		Upload: v1alpha1.ProofOfDeliveryUpload{
			StagingKey:  staged.Key,
			SHA256:      staged.SHA256,
			Size:        staged.Size,
			ContentType: staged.ContentType,
			Filename:    "pod.pdf",
		},
	}
}

func urlEscape(s string) string {
	return strings.NewReplacer(":", "%3A", "/", "%2F", "@", "%40").Replace(s)
}
