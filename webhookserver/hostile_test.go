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
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"gocloud.dev/blob"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
	"github.com/parcelops/parcel-operator/internal/signature"
)

// The bad-input suite: hostile and broken requests against the running
// server, each refused with the right 4xx and a message that says what is
// allowed, none echoing a credential or the file sent, none creating or
// changing a Parcel or an object; the server still serving afterwards.

// Article IDs of the parcels the hostile requests aim at.
const (
	hostileAttackerArticle = "ATK1000000001"
	hostileVictimArticle   = "VIC1000000001"
	hostileSignerArticle   = "SIG1000000001"
	// hostileBoundary separates the parts of the hand-built multipart bodies.
	hostileBoundary = "h0stile-b0undary"
	// hostilePODCap is the attacking courier's maxProofOfDeliverySize.
	hostilePODCap = 64 << 10
)

// hostile is one request of the suite: an *http.Request sent by the
// suite's client, or raw bytes written on a TCP connection of its own (for
// what net/http's client refuses to send).
type hostile struct {
	req *http.Request
	raw string
	// route is the OpenAPI operation's path the answer is recorded under
	// (observe); "" for an operation the document does not have.
	route string
	// plain marks an answer net/http gives itself, before any handler: a
	// text/plain body, not a problem.
	plain bool
	// secrets must not appear in the answer, besides the credentials
	// found in the request's headers.
	secrets []string
}

// hostileParty is who is attacking and who is attacked.
type hostileParty struct {
	// attacker may not create parcels and has a small POD cap; it owns
	// the parcel hostileAttackerArticle, created directly.
	attacker *courier
	// victim owns hostileVictimArticle.
	victim *courier
	// signer signs its requests, may not create parcels, and owns
	// hostileSignerArticle, whose first event came with replayable, a
	// signed request kept to be replayed.
	signer *courier
	// otherSigner is another signing courier, whose key is not signer's.
	otherSigner *courier
	replayable  *http.Request
	replayBody  string
}

// who is set by the suite's BeforeAll.
var who hostileParty

func (p hostileParty) namespaces() []string {
	return []string{p.attacker.ns, p.victim.ns, p.signer.ns, p.otherSigner.ns}
}

func (p hostileParty) secrets() []string {
	out := []string{}
	for _, c := range []*courier{p.attacker, p.victim, p.signer, p.otherSigner} {
		out = append(out, c.token)
		if c.hmacKey != nil {
			out = append(out, string(c.hmacKey))
		}
	}
	return out
}

// hostileState is what the suite must leave as it found: every Parcel of
// the couriers involved (name, resourceVersion, generation) and every
// object and unfinished upload under their namespaces in the bucket.
type hostileState struct {
	Parcels []string
	Objects []string
	Uploads []string
}

func snapshotHostileState(bucket *blob.Bucket) hostileState {
	GinkgoHelper()
	var s hostileState
	for _, ns := range who.namespaces() {
		list := &trackingv1alpha1.ParcelList{}
		Expect(k8sClient.List(ctx, list, client.InNamespace(ns))).To(Succeed())
		for _, p := range list.Items {
			s.Parcels = append(s.Parcels, fmt.Sprintf("%s/%s rv=%s gen=%d events=%d",
				p.Namespace, p.Name, p.ResourceVersion, p.Generation, len(p.Spec.Events)))
		}
		for _, prefix := range []string{"incoming/" + ns + "/", "pods/" + ns + "/"} {
			it := bucket.List(&blob.ListOptions{Prefix: prefix})
			for {
				obj, err := it.Next(ctx)
				if errors.Is(err, io.EOF) {
					break
				}
				Expect(err).NotTo(HaveOccurred())
				s.Objects = append(s.Objects, obj.Key)
			}
		}
	}
	uploads, err := s3Server.MultipartUploads(ctx, podBucket)
	Expect(err).NotTo(HaveOccurred())
	for _, key := range uploads {
		for _, ns := range who.namespaces() {
			if strings.Contains(key, "/"+ns+"/") {
				s.Uploads = append(s.Uploads, key)
			}
		}
	}
	sort.Strings(s.Parcels)
	sort.Strings(s.Objects)
	sort.Strings(s.Uploads)
	return s
}

// sendHostile sends h and records the answer under its route.
func sendHostile(h hostile) answer {
	GinkgoHelper()
	var a answer
	method := ""
	if h.req != nil {
		method = h.req.Method
		resp, err := httpClient.Do(h.req)
		Expect(err).NotTo(HaveOccurred())
		defer func() { _ = resp.Body.Close() }()
		body, err := io.ReadAll(resp.Body)
		Expect(err).NotTo(HaveOccurred())
		a = answer{code: resp.StatusCode, header: resp.Header, body: body}
	} else {
		method, _, _ = strings.Cut(h.raw, " ")
		a = rawExchange(h.raw)
	}
	if h.route != "" {
		observe(method, h.route, a.code)
	}
	return a
}

// rawExchange writes raw on a connection of its own and reads one answer.
// A write error is ignored: the server may answer and close before it has
// read all of a request it refuses.
func rawExchange(raw string) answer {
	GinkgoHelper()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", strings.TrimPrefix(apiURL, "http://"))
	Expect(err).NotTo(HaveOccurred())
	defer func() { _ = conn.Close() }()
	Expect(conn.SetDeadline(time.Now().Add(20 * time.Second))).To(Succeed())
	go func() { _, _ = io.WriteString(conn, raw) }()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	Expect(err).NotTo(HaveOccurred())
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	Expect(err).NotTo(HaveOccurred())
	return answer{code: resp.StatusCode, header: resp.Header, body: body}
}

// credentialsIn are the credentials a request carries in its headers and
// query, which the answer must not repeat.
func credentialsIn(req *http.Request) []string {
	if req == nil {
		return nil
	}
	var out []string
	for _, v := range req.Header.Values("Authorization") {
		if _, cred, ok := strings.Cut(v, " "); ok && len(strings.TrimSpace(cred)) >= 8 {
			out = append(out, strings.TrimSpace(cred))
		}
	}
	for _, v := range req.Header.Values(signature.Header) {
		out = append(out, v)
		for _, item := range strings.Split(v, ",") {
			if _, mac, ok := strings.Cut(item, "v1="); ok && len(mac) >= 16 {
				out = append(out, mac)
			}
		}
	}
	for _, vs := range req.URL.Query() {
		for _, v := range vs {
			if len(v) >= 8 {
				out = append(out, v)
			}
		}
	}
	return out
}

// problemText is a problem's detail and its fields' details.
func problemText(p map[string]any) string {
	parts := []string{fmt.Sprint(p["detail"])}
	if errs, ok := p["errors"].([]any); ok {
		for _, e := range errs {
			if m, ok := e.(map[string]any); ok {
				parts = append(parts, fmt.Sprint(m["detail"]))
			}
		}
	}
	return strings.Join(parts, " | ")
}

// Builders of hostile requests.

// hostileRequest is a request to the suite's server with the given
// Authorization value (none when "") and no signature.
func hostileRequest(method, path, authorization, contentType string, body []byte) *http.Request {
	GinkgoHelper()
	req, err := http.NewRequestWithContext(ctx, method, apiURL+path, bytes.NewReader(body))
	Expect(err).NotTo(HaveOccurred())
	if body == nil {
		req.Body, req.GetBody, req.ContentLength = http.NoBody, nil, 0
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	return req
}

// asCourier is a request from c with its token, unsigned.
func asCourier(c *courier, method, path, contentType string, body []byte) *http.Request {
	GinkgoHelper()
	return hostileRequest(method, path, "Bearer "+c.token, contentType, body)
}

// postAs is an update from c, unsigned.
func postAs(c *courier, contentType string, body []byte) hostile {
	GinkgoHelper()
	return hostile{req: asCourier(c, http.MethodPost, UpdatePath, contentType, body), route: UpdatePath}
}

// batchAs posts a batch from c, unsigned.
func batchAs(c *courier, body string) hostile {
	GinkgoHelper()
	return hostile{req: asCourier(c, http.MethodPost, BatchPath, "application/json", []byte(body)), route: BatchPath}
}

// attackerJSON posts body as application/json from the attacker.
func attackerJSON(body string) hostile {
	GinkgoHelper()
	return postAs(who.attacker, "application/json", []byte(body))
}

// attackerForm posts one form_data part holding formData.
func attackerForm(formData string) hostile {
	GinkgoHelper()
	return attackerMultipart(hostileFormPart(formData))
}

// attackerURLEncoded posts body as application/x-www-form-urlencoded from
// the attacker.
func attackerURLEncoded(body string) hostile {
	GinkgoHelper()
	return postAs(who.attacker, "application/x-www-form-urlencoded", []byte(body))
}

// formField is one urlencoded field, as http_build_query writes it.
func formField(name, value string) string {
	return url.QueryEscape(name) + "=" + url.QueryEscape(value)
}

// attackerMultipart posts the parts, closed properly, with hostileBoundary.
func attackerMultipart(parts ...string) hostile {
	GinkgoHelper()
	return postAs(who.attacker, hostileMultipartType, []byte(hostileMultipart(parts...)))
}

const hostileMultipartType = "multipart/form-data; boundary=" + hostileBoundary

// hostilePart is one multipart part: its header lines, a blank line, its
// content.
func hostilePart(headers []string, content string) string {
	return strings.Join(headers, "\r\n") + "\r\n\r\n" + content
}

func hostileFormPart(formData string) string {
	return hostilePart([]string{`Content-Disposition: form-data; name="form_data"`}, formData)
}

func hostileFilePart(filename, contentType string, content []byte) string {
	return hostilePart([]string{
		fmt.Sprintf(`Content-Disposition: form-data; name="pod_file"; filename="%s"`, filename),
		"Content-Type: " + contentType,
	}, string(content))
}

// hostileMultipart joins parts into a body with its closing boundary.
func hostileMultipart(parts ...string) string {
	var b strings.Builder
	for _, p := range parts {
		b.WriteString("--" + hostileBoundary + "\r\n" + p + "\r\n")
	}
	b.WriteString("--" + hostileBoundary + "--\r\n")
	return b.String()
}

// attackerUpdate is a valid update of the attacker's own parcel, but for
// what the case changes.
func attackerUpdate(extra ...string) string {
	return update(hostileAttackerArticle, "In Transit", "2025-10-08T09:00:00Z", extra...)
}

// attackerDelivery is a valid delivery update of the attacker's own
// parcel, with an event ID of its own: a file staged by one case cannot hide
// behind the same key staged by another.
func attackerDelivery() string {
	return update(hostileAttackerArticle, "Delivered", "2025-10-08T10:15:00Z", `"eventId":"hostile-`+randomToken()[:12]+`"`)
}

// attackerPOD posts a delivery of the attacker's parcel with a pod_file.
func attackerPOD(filename, contentType string, content []byte) hostile {
	GinkgoHelper()
	h := attackerMultipart(hostileFormPart(attackerDelivery()), hostileFilePart(filename, contentType, content))
	h.secrets = append(h.secrets, fileFingerprint(content))
	return h
}

// fileFingerprint is a run of a file's random bytes, as hex, that an
// answer repeating the file would contain (hex-encoded or not, checked by
// the caller both ways).
func fileFingerprint(content []byte) string {
	if len(content) < 64 {
		return string(content)
	}
	return string(content[len(content)-32:])
}

// randomBytes is n random bytes.
func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// elfExecutable is the start of an x86-64 ELF executable, then noise.
func elfExecutable() []byte {
	head := []byte("\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x3e\x00\x01\x00\x00\x00")
	return append(head, randomBytes(4096)...)
}

// peExecutable is a DOS stub pointing at a PE header, then noise.
func peExecutable() []byte {
	b := make([]byte, 0x80)
	copy(b, "MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff")
	b[0x3c] = 0x40
	copy(b[0x40:], "PE\x00\x00\x64\x86")
	return append(b, randomBytes(4096)...)
}

// zipBomb is a zip archive of 32 MiB of zeros: about 32 KiB sent.
func zipBomb() []byte {
	GinkgoHelper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create("pod.pdf")
	Expect(err).NotTo(HaveOccurred())
	_, err = w.Write(make([]byte, 32<<20))
	Expect(err).NotTo(HaveOccurred())
	Expect(zw.Close()).To(Succeed())
	return append(buf.Bytes(), randomBytes(64)...)
}

// gzipped compresses b.
func gzipped(b []byte) []byte {
	GinkgoHelper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, err := zw.Write(b)
	Expect(err).NotTo(HaveOccurred())
	Expect(zw.Close()).To(Succeed())
	return buf.Bytes()
}

// gzipBomb is 32 MiB of zeros gzipped: about 32 KiB sent.
func gzipBomb() []byte {
	GinkgoHelper()
	return append(gzipped(make([]byte, 32<<20)), randomBytes(64)...)
}

// signerRequest is a request from the signer with the given signature
// header values (none when empty).
func signerRequest(method, path, contentType string, body []byte, signatures ...string) *http.Request {
	GinkgoHelper()
	req := asCourier(who.signer, method, path, contentType, body)
	for _, s := range signatures {
		req.Header.Add(signature.Header, s)
	}
	return req
}

// signerUpdate is a valid update of the signer's parcel.
func signerUpdate() string {
	return update(hostileSignerArticle, "Loaded by Driver", "2025-10-08T08:00:00Z")
}

func signedPost(body string, signatures ...string) hostile {
	GinkgoHelper()
	return hostile{req: signerRequest(http.MethodPost, UpdatePath, "application/json", []byte(body), signatures...),
		route: UpdatePath}
}

func signNow(body string, offset time.Duration, keys ...[]byte) string {
	return signature.Sign(time.Now().Add(offset).Unix(), []byte(body), keys...)
}

// slowHeader is a request whose header stays open.
const slowHeader = "POST " + UpdatePath + " HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "

var _ = Describe("Hostile requests", Ordered, ContinueOnFailure, func() {
	var (
		bucket *blob.Bucket
		before hostileState
	)

	BeforeAll(func() {
		var err error
		bucket, err = blob.OpenBucket(ctx, s3Server.BucketURL(podBucket))
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(bucket.Close)

		who.victim = newCourier()
		Expect(who.victim.postJSON(update(hostileVictimArticle, "Received in Depo", "2025-10-08T07:00:00Z")).code).
			To(Equal(http.StatusOK))

		who.attacker = newCourier(func(c *trackingv1alpha1.Courier) {
			c.Spec.AllowParcelCreation = ptr.To(false)
			q := resource.MustParse(fmt.Sprint(hostilePODCap))
			c.Spec.MaxProofOfDeliverySize = &q
		})
		Expect(k8sClient.Create(ctx, &trackingv1alpha1.Parcel{
			ObjectMeta: metav1.ObjectMeta{Namespace: who.attacker.ns, Name: trackingv1alpha1.ParcelName(hostileAttackerArticle)},
			Spec:       trackingv1alpha1.ParcelSpec{ArticleID: hostileAttackerArticle},
		})).To(Succeed())
		Expect(who.attacker.postJSON(update(hostileAttackerArticle, "Received in Depo", "2025-10-08T07:00:00Z")).code).
			To(Equal(http.StatusOK))

		who.signer = newSigningCourier(func(c *trackingv1alpha1.Courier) { c.Spec.AllowParcelCreation = ptr.To(false) })
		Expect(k8sClient.Create(ctx, &trackingv1alpha1.Parcel{
			ObjectMeta: metav1.ObjectMeta{Namespace: who.signer.ns, Name: trackingv1alpha1.ParcelName(hostileSignerArticle)},
			Spec:       trackingv1alpha1.ParcelSpec{ArticleID: hostileSignerArticle},
		})).To(Succeed())
		who.otherSigner = newSigningCourier()
		who.replayBody = update(hostileSignerArticle, "Received in Depo", "2025-10-08T07:00:00Z")
		first := who.signer.request(http.MethodPost, UpdatePath, "application/json", strings.NewReader(who.replayBody))
		who.replayable = first.Clone(ctx)
		who.replayable.Body = io.NopCloser(strings.NewReader(who.replayBody))
		who.replayable.GetBody = nil
		Expect(do(first, UpdatePath).code).To(Equal(http.StatusOK))

		// The reconciler has written the parcels' status: from here on
		// nothing may change them.
		Eventually(func(g Gomega) {
			for _, ns := range who.namespaces() {
				list := &trackingv1alpha1.ParcelList{}
				g.Expect(k8sClient.List(ctx, list, client.InNamespace(ns))).To(Succeed())
				for _, p := range list.Items {
					g.Expect(p.Status.ObservedGeneration).To(Equal(p.Generation), "%s/%s", p.Namespace, p.Name)
				}
			}
		}).Should(Succeed())
		// The manager's cache has the attacker's parcel, so that a POD case
		// reaches the store rather than the parcel lookup.
		Eventually(func() error {
			return server.Client.Get(ctx, client.ObjectKey{Namespace: who.attacker.ns,
				Name: trackingv1alpha1.ParcelName(hostileAttackerArticle)}, &trackingv1alpha1.Parcel{})
		}).Should(Succeed())
		before = snapshotHostileState(bucket)
		Expect(before.Parcels).To(HaveLen(3))
		Expect(before.Objects).To(BeEmpty())
	})

	DescribeTable("refuses with the right 4xx, says what is allowed, echoes no secret, and writes nothing",
		func(build func() hostile, code int, field, detail string) {
			start := snapshotHostileState(bucket)
			h := build()
			a := sendHostile(h)
			Expect(a.code).To(Equal(code), "%s", a.body)

			if h.plain {
				Expect(string(a.body)).To(ContainSubstring(detail))
			} else {
				Expect(a.header.Get("Content-Type")).To(Equal("application/problem+json"), "%s", a.body)
				Expect(a.header.Get("Cache-Control")).To(Equal("no-store"))
				p := a.json()
				Expect(p).To(HaveKeyWithValue("status", BeNumerically("==", code)))
				Expect(p["type"]).To(HavePrefix(problemTypeBase))
				Expect(p["title"]).NotTo(BeEmpty())
				Expect(problemText(p)).To(ContainSubstring(detail))
				if field != "" {
					Expect(p["errors"]).To(ContainElement(HaveKeyWithValue("field", field)), "%s", a.body)
				}
				if code == http.StatusUnauthorized {
					Expect(a.header.Get("WWW-Authenticate")).To(HavePrefix("Bearer"))
				}
			}

			Expect(len(a.body)).To(BeNumerically("<", 8<<10), "an answer repeats no large part of the request")
			answered := string(a.body)
			for k, vs := range a.header {
				answered += "\n" + k + ": " + strings.Join(vs, ", ")
			}
			for _, secret := range append(append(who.secrets(), credentialsIn(h.req)...), h.secrets...) {
				if len(secret) < 8 {
					continue
				}
				Expect(answered).NotTo(ContainSubstring(secret), "the answer repeats a secret")
				Expect(answered).NotTo(ContainSubstring(hex.EncodeToString([]byte(secret))))
				Expect(answered).NotTo(ContainSubstring(base64.StdEncoding.EncodeToString([]byte(secret))))
			}
			Expect(snapshotHostileState(bucket)).To(Equal(start), "the request changed a Parcel or the bucket")
		},

		// Credentials.
		Entry("no Authorization header", func() hostile {
			return hostile{req: hostileRequest(http.MethodPost, UpdatePath, "", "application/json", []byte(attackerUpdate())),
				route: UpdatePath}
		}, http.StatusUnauthorized, "", "Authorization: Bearer <token>"),
		Entry("the Basic scheme with the courier's token as password", func() hostile {
			basic := base64.StdEncoding.EncodeToString([]byte("acme:" + who.attacker.token))
			return hostile{req: hostileRequest(http.MethodPost, UpdatePath, "Basic "+basic, "application/json",
				[]byte(attackerUpdate())), route: UpdatePath}
		}, http.StatusUnauthorized, "", "Authorization: Bearer <token>"),
		Entry("a wrong bearer token", func() hostile {
			return hostile{req: hostileRequest(http.MethodPost, UpdatePath, "Bearer "+randomToken(), "application/json",
				[]byte(attackerUpdate())), route: UpdatePath}
		}, http.StatusUnauthorized, "", "not valid for any courier"),
		Entry("an empty bearer token", func() hostile {
			return hostile{req: hostileRequest(http.MethodPost, UpdatePath, "Bearer ", "application/json",
				[]byte(attackerUpdate())), route: UpdatePath}
		}, http.StatusUnauthorized, "", "Authorization: Bearer <token>"),
		Entry("the token in the query string instead of the header", func() hostile {
			return hostile{req: hostileRequest(http.MethodGet, "/api/v1/parcels/"+hostileAttackerArticle+
				"?access_token="+url.QueryEscape(who.attacker.token), "", "", nil), route: ParcelPath}
		}, http.StatusUnauthorized, "", "Authorization: Bearer <token>"),
		Entry("the courier's token with a byte appended", func() hostile {
			return hostile{req: hostileRequest(http.MethodGet, "/api/v1/parcels/"+hostileAttackerArticle,
				"Bearer "+who.attacker.token+"0", "", nil), route: ParcelPath}
		}, http.StatusUnauthorized, "", "not valid for any courier"),
		Entry("a bearer token of 12 KiB", func() hostile {
			return hostile{req: hostileRequest(http.MethodGet, "/api/v1/parcels/"+hostileAttackerArticle,
				"Bearer "+strings.Repeat(who.attacker.token, 12<<10/len(who.attacker.token)), "", nil), route: ParcelPath}
		}, http.StatusUnauthorized, "", "not valid for any courier"),
		Entry("an unauthenticated 10 MiB upload waiting for 100 Continue", func() hostile {
			// Were the body read, the server would send 100 Continue first, and
			// that would be the answer read here.
			return hostile{route: UpdatePath, raw: "POST " + UpdatePath + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
				"Authorization: Bearer " + randomToken() + "\r\nContent-Type: application/json\r\n" +
				"Content-Length: 10485760\r\nExpect: 100-continue\r\n\r\n"}
		}, http.StatusUnauthorized, "", "not valid for any courier"),
		// Two Authorization headers: refused rather than one picked, since a
		// proxy in front may act on the other one.
		Entry("two Authorization headers (own token, then the victim's)",
			func() hostile {
				req := asCourier(who.attacker, http.MethodGet, "/api/v1/parcels/"+hostileAttackerArticle, "", nil)
				req.Header.Add("Authorization", "Bearer "+who.victim.token)
				return hostile{req: req, route: ParcelPath}
			}, http.StatusUnauthorized, "", "Authorization"),
		Entry("another courier reading the victim's parcel", func() hostile {
			return hostile{req: asCourier(who.attacker, http.MethodGet, "/api/v1/parcels/"+hostileVictimArticle, "", nil),
				route: ParcelPath}
		}, http.StatusNotFound, "", `no parcel with article ID "`+hostileVictimArticle+`"`),
		Entry("another courier writing to the victim's article ID", func() hostile {
			return attackerJSON(update(hostileVictimArticle, "Delivered", "2025-10-08T10:15:00Z"))
		}, http.StatusNotFound, "", "this courier may not create parcels"),
		Entry("another courier reading the victim's parcel with a body", func() hostile {
			return hostile{req: asCourier(who.attacker, http.MethodGet, "/api/v1/parcels/"+hostileVictimArticle,
				"application/json", []byte(update(hostileVictimArticle, "Delivered", ""))), route: ParcelPath}
		}, http.StatusNotFound, "", `no parcel with article ID "`+hostileVictimArticle+`"`),

		// Signatures.
		Entry("a signing courier's update without a signature", func() hostile {
			return signedPost(signerUpdate())
		}, http.StatusUnauthorized, "", "not signed"),
		Entry("a malformed signature", func() hostile {
			return signedPost(signerUpdate(), "t=now,v1=not-hex")
		}, http.StatusUnauthorized, "", "malformed"),
		Entry("a signature with a negative timestamp", func() hostile {
			body := signerUpdate()
			return signedPost(body, strings.Replace(signNow(body, 0, who.signer.hmacKey), "t=", "t=-", 1))
		}, http.StatusUnauthorized, "", "Unix time in whole seconds"),
		Entry("a signature six minutes old", func() hostile {
			body := signerUpdate()
			return signedPost(body, signNow(body, -6*time.Minute, who.signer.hmacKey))
		}, http.StatusUnauthorized, "", "too old"),
		Entry("a signature six minutes in the future", func() hostile {
			body := signerUpdate()
			return signedPost(body, signNow(body, 6*time.Minute, who.signer.hmacKey))
		}, http.StatusUnauthorized, "", "in the future"),
		Entry("the exact replay of an accepted signed update", func() hostile {
			return hostile{req: who.replayable, route: UpdatePath}
		}, http.StatusUnauthorized, "", "already used"),
		Entry("a signature over another body", func() hostile {
			body := signerUpdate()
			return signedPost(body, signNow(update(hostileSignerArticle, "Delivered", ""), 0, who.signer.hmacKey))
		}, http.StatusUnauthorized, "", "no signature in X-Parcel-Signature matches"),
		Entry("a signature with another courier's key", func() hostile {
			body := signerUpdate()
			return signedPost(body, signNow(body, 0, who.otherSigner.hmacKey))
		}, http.StatusUnauthorized, "", "no signature in X-Parcel-Signature matches"),
		Entry("two X-Parcel-Signature headers, one valid", func() hostile {
			body := signerUpdate()
			return signedPost(body, signNow(body, 0, who.signer.hmacKey), signNow(body, 0, who.otherSigner.hmacKey))
		}, http.StatusUnauthorized, "", "sent more than once"),
		Entry("a signature header over 512 bytes", func() hostile {
			body := signerUpdate()
			return signedPost(body, signNow(body, 0, who.signer.hmacKey)+",v1="+strings.Repeat("ab", 250))
		}, http.StatusUnauthorized, "", "at most 512 are allowed"),
		Entry("five v1 values", func() hostile {
			body := signerUpdate()
			keys := [][]byte{who.signer.hmacKey, []byte("a"), []byte("b"), []byte("c"), []byte("d")}
			return signedPost(body, signNow(body, 0, keys...))
		}, http.StatusUnauthorized, "", "more than 4 v1 signatures"),
		Entry("a valid signature with its t moved by a second", func() hostile {
			body := signerUpdate()
			t := time.Now().Unix()
			return signedPost(body, strings.Replace(signature.Sign(t, []byte(body), who.signer.hmacKey),
				fmt.Sprintf("t=%d", t), fmt.Sprintf("t=%d", t-1), 1))
		}, http.StatusUnauthorized, "", "no signature in X-Parcel-Signature matches"),
		Entry("an unknown signature scheme v0", func() hostile {
			body := signerUpdate()
			return signedPost(body, strings.Replace(signNow(body, 0, who.signer.hmacKey), "v1=", "v0=", 1))
		}, http.StatusUnauthorized, "", "only t and v1 are allowed"),
		// The signature is checked before an answer that says whether the
		// parcel exists: a token without the key learns nothing.
		Entry("a wrongly signed update of an article ID that does not exist",
			func() hostile {
				body := update("SIG404", "Received in Depo", "2025-10-08T07:00:00Z")
				return signedPost(body, signNow(body, 0, who.otherSigner.hmacKey))
			}, http.StatusUnauthorized, "", "no signature in X-Parcel-Signature matches"),
		Entry("a signed GET with a body", func() hostile {
			body := []byte(signerUpdate())
			return hostile{req: signerRequest(http.MethodGet, "/api/v1/parcels/"+hostileSignerArticle, "application/json",
				body, signature.Sign(time.Now().Unix(), body, who.signer.hmacKey)), route: ParcelPath}
		}, http.StatusBadRequest, "", "could not be read to its end"),
		// The POD is staged while the body streams, before the signature over
		// the body can be checked: the refusal deletes the upload.
		Entry("a signed delivery with a POD whose signature is over another body",
			func() hostile {
				content := pdf(4096)
				body := []byte(hostileMultipart(
					hostileFormPart(update(hostileSignerArticle, "Delivered", "2025-10-08T10:15:00Z")),
					hostileFilePart("pod.pdf", "application/pdf", content)))
				h := hostile{req: signerRequest(http.MethodPost, UpdatePath, hostileMultipartType, body,
					signNow("something else", 0, who.signer.hmacKey)), route: UpdatePath}
				h.secrets = []string{fileFingerprint(content)}
				return h
			}, http.StatusUnauthorized, "", "no signature in X-Parcel-Signature matches"),

		// Media types and encodings.
		Entry("Content-Type text/plain", func() hostile {
			return postAs(who.attacker, "text/plain", []byte(attackerUpdate()))
		}, http.StatusUnsupportedMediaType, "Content-Type", "multipart/form-data"),
		Entry("no Content-Type", func() hostile {
			return postAs(who.attacker, "", []byte(attackerUpdate()))
		}, http.StatusUnsupportedMediaType, "Content-Type", "Content-Type is missing"),
		Entry("two Content-Type headers", func() hostile {
			h := attackerJSON(attackerUpdate())
			h.req.Header.Add("Content-Type", "text/plain")
			return h
		}, http.StatusUnsupportedMediaType, "Content-Type", "sent more than once"),
		Entry("JSON in charset latin1", func() hostile {
			return postAs(who.attacker, "application/json; charset=ISO-8859-1",
				[]byte(attackerUpdate(`"remarks":"livr\xe9 au caf\xe9"`)))
		}, http.StatusUnsupportedMediaType, "Content-Type", "send the JSON body as UTF-8"),
		Entry("JSON with Content-Type parameters that do not parse", func() hostile {
			return postAs(who.attacker, "application/json; charset", []byte(attackerUpdate()))
		}, http.StatusUnsupportedMediaType, "Content-Type", "parameters that do not parse"),
		Entry("a gzip Content-Encoding", func() hostile {
			h := postAs(who.attacker, "application/json", gzipped([]byte(attackerUpdate())))
			h.req.Header.Set("Content-Encoding", "gzip")
			return h
		}, http.StatusUnsupportedMediaType, "Content-Encoding", "send the body uncompressed"),

		// Urlencoded forms: one form_data field, judged like the multipart part.
		Entry("a urlencoded form_data sent twice", func() hostile {
			f := formField("form_data", attackerUpdate())
			return attackerURLEncoded(f + "&" + f)
		}, http.StatusBadRequest, "form_data", "form_data is sent 2 times"),
		Entry("a urlencoded form with a pod_file field", func() hostile {
			return attackerURLEncoded(formField("form_data", attackerDelivery()) + "&" + formField("pod_file", "%PDF-1.4"))
		}, http.StatusBadRequest, "pod_file", "send a file as multipart/form-data"),
		Entry("a urlencoded form with a field of its own", func() hostile {
			return attackerURLEncoded(formField("form_data", attackerUpdate()) + "&" + formField("articleId", hostileVictimArticle))
		}, http.StatusBadRequest, "articleId", "unexpected form field"),
		Entry("a urlencoded form_data of 64 KiB and a byte", func() hostile {
			u := attackerUpdate()
			return attackerURLEncoded(formField("form_data", u[:len(u)-1]+strings.Repeat(" ", DefaultMaxFormDataBytes-len(u)+1)+"}"))
		}, http.StatusRequestEntityTooLarge, "form_data", "larger than 65536 bytes"),
		Entry("a urlencoded form of 192 KiB of escapes", func() hostile {
			return attackerURLEncoded("form_data=" + strings.Repeat("%20", DefaultMaxFormDataBytes+1))
		}, http.StatusRequestEntityTooLarge, "form_data", "bytes allowed"),
		Entry("a urlencoded form_data with invalid UTF-8", func() hostile {
			return attackerURLEncoded(formField("form_data", attackerUpdate("\"remarks\":\"caf\xe9\"")))
		}, http.StatusBadRequest, "remarks", "not valid UTF-8"),
		Entry("a urlencoded form_data nested 10,001 deep", func() hostile {
			return attackerURLEncoded(formField("form_data", `{"articleId":`+strings.Repeat("[", 10001)+strings.Repeat("]", 10001)+`}`))
		}, http.StatusBadRequest, "form_data", "exceeded max depth"),
		Entry("a urlencoded form with a broken escape", func() hostile {
			return attackerURLEncoded("form_data=%7B%2")
		}, http.StatusBadRequest, "form_data", "not valid percent-encoding"),
		Entry("a urlencoded form in charset latin1", func() hostile {
			return postAs(who.attacker, "application/x-www-form-urlencoded; charset=ISO-8859-1",
				[]byte(formField("form_data", attackerUpdate())))
		}, http.StatusUnsupportedMediaType, "Content-Type", "percent-encode the form's UTF-8 bytes"),

		// Refused before its body is read: the answer comes at once, not
		// after ReadTimeout spent waiting for a body the client holds back
		// until 100 Continue.
		Entry("a 1 GiB upload of an unsupported type waiting for 100 Continue",
			func() hostile {
				return hostile{route: UpdatePath, raw: "POST " + UpdatePath + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
					"Authorization: Bearer " + who.attacker.token + "\r\nContent-Type: application/octet-stream\r\n" +
					"Content-Length: 1073741824\r\nExpect: 100-continue\r\n\r\n"}
			}, http.StatusUnsupportedMediaType, "Content-Type", "multipart/form-data"),
		Entry("a chunked body with a malformed chunk size", func() hostile {
			body := attackerUpdate()
			return hostile{route: UpdatePath, raw: "POST " + UpdatePath + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
				"Authorization: Bearer " + who.attacker.token + "\r\nContent-Type: application/json\r\n" +
				"Transfer-Encoding: chunked\r\n\r\nzz\r\n" + body + "\r\n0\r\n\r\n"}
		}, http.StatusBadRequest, "form_data", "could not be read"),
		// Multipart framing.
		Entry("multipart without a boundary", func() hostile {
			return postAs(who.attacker, "multipart/form-data", []byte(hostileMultipart(hostileFormPart(attackerUpdate()))))
		}, http.StatusBadRequest, "form_data", "no valid boundary parameter"),
		Entry("a boundary of 71 bytes", func() hostile {
			long := strings.Repeat("b", 71)
			body := "--" + long + "\r\n" + hostileFormPart(attackerUpdate()) + "\r\n--" + long + "--\r\n"
			return postAs(who.attacker, "multipart/form-data; boundary="+long, []byte(body))
		}, http.StatusBadRequest, "form_data", "at most 70 are allowed"),
		Entry("a body with another boundary than the header's", func() hostile {
			return postAs(who.attacker, "multipart/form-data; boundary=announced",
				[]byte(hostileMultipart(hostileFormPart(attackerUpdate()))))
		}, http.StatusBadRequest, "form_data", "no part opened by the line --announced"),
		Entry("a body cut off inside form_data", func() hostile {
			body := "--" + hostileBoundary + "\r\n" + hostileFormPart(attackerUpdate())
			return postAs(who.attacker, hostileMultipartType, []byte(body[:len(body)-5]))
		}, http.StatusBadRequest, "form_data", "before it was complete"),
		Entry("a body that ends after form_data without the closing boundary", func() hostile {
			body := "--" + hostileBoundary + "\r\n" + hostileFormPart(attackerUpdate()) + "\r\n--" + hostileBoundary + "\r\n"
			return postAs(who.attacker, hostileMultipartType, []byte(body))
		}, http.StatusBadRequest, "form_data", "without its closing boundary line"),
		Entry("a multipart body with no parts", func() hostile {
			return postAs(who.attacker, hostileMultipartType, []byte("--"+hostileBoundary+"--\r\n"))
		}, http.StatusBadRequest, "form_data", "has no parts"),
		Entry("form_data sent twice", func() hostile {
			return attackerMultipart(hostileFormPart(attackerUpdate()),
				hostileFormPart(update(hostileAttackerArticle, "Delivered", "")))
		}, http.StatusBadRequest, "form_data", "form_data is sent twice"),
		// The first pod_file is staged before the second is seen; the
		// refusal deletes it.
		Entry("pod_file sent twice", func() hostile {
			first, second := pdf(2048), pdf(2048)
			h := attackerMultipart(hostileFormPart(attackerDelivery()),
				hostileFilePart("pod.pdf", "application/pdf", first), hostileFilePart("pod2.pdf", "application/pdf", second))
			h.secrets = []string{fileFingerprint(first), fileFingerprint(second)}
			return h
		}, http.StatusBadRequest, "pod_file", "pod_file is sent twice"),
		Entry("an unknown part after form_data", func() hostile {
			return attackerMultipart(hostileFormPart(attackerUpdate()),
				hostilePart([]string{`Content-Disposition: form-data; name="evil"`}, "rm -rf /"))
		}, http.StatusBadRequest, "evil", "allowed parts are form_data"),
		// The POD is staged before the part after it is seen; the refusal
		// deletes it.
		Entry("an unknown part after pod_file", func() hostile {
			content := pdf(2048)
			h := attackerMultipart(hostileFormPart(attackerDelivery()),
				hostileFilePart("pod.pdf", "application/pdf", content),
				hostilePart([]string{`Content-Disposition: form-data; name="evil"`}, "x"))
			h.secrets = []string{fileFingerprint(content)}
			return h
		}, http.StatusBadRequest, "evil", "pod_file must be the last part"),
		// The POD is staged before the epilogue after it is judged; the
		// refusal deletes it.
		Entry("more than 4 KiB after the closing boundary, after a pod_file",
			func() hostile {
				content := pdf(2048)
				body := hostileMultipart(hostileFormPart(attackerDelivery()),
					hostileFilePart("pod.pdf", "application/pdf", content)) + strings.Repeat("junk", 2<<10)
				h := postAs(who.attacker, hostileMultipartType, []byte(body))
				h.secrets = []string{fileFingerprint(content)}
				return h
			}, http.StatusBadRequest, "pod_file", "after the multipart closing boundary"),
		Entry("a body cut off inside pod_file", func() hostile {
			content := pdf(8192)
			body := "--" + hostileBoundary + "\r\n" + hostileFormPart(attackerDelivery()) + "\r\n--" + hostileBoundary + "\r\n" +
				hostileFilePart("pod.pdf", "application/pdf", content)
			h := postAs(who.attacker, hostileMultipartType, []byte(body))
			h.secrets = []string{fileFingerprint(content)}
			return h
		}, http.StatusBadRequest, "pod_file", "before it was complete"),
		Entry("pod_file before form_data", func() hostile {
			return attackerMultipart(hostileFilePart("pod.pdf", "application/pdf", pdf(1024)),
				hostileFormPart(attackerDelivery()))
		}, http.StatusBadRequest, "form_data", "form_data must come before pod_file"),
		Entry("a part without Content-Disposition", func() hostile {
			return attackerMultipart(hostilePart([]string{"Content-Type: application/json"}, attackerUpdate()))
		}, http.StatusBadRequest, "form_data", "no Content-Disposition header"),
		Entry("form_data in base64 Content-Transfer-Encoding", func() hostile {
			return attackerMultipart(hostilePart([]string{`Content-Disposition: form-data; name="form_data"`,
				"Content-Transfer-Encoding: base64"}, base64.StdEncoding.EncodeToString([]byte(attackerUpdate()))))
		}, http.StatusBadRequest, "form_data", "Content-Transfer-Encoding"),
		Entry("a part name that is not UTF-8", func() hostile {
			return attackerMultipart(hostileFormPart(attackerUpdate()),
				hostilePart([]string{"Content-Disposition: form-data; name=\"ev\xffil\""}, "x"))
		}, http.StatusBadRequest, "ev\uFFFDil", "allowed parts are form_data"),
		Entry("a filename with a NUL byte", func() hostile {
			content := pdf(1024)
			h := attackerMultipart(hostileFormPart(attackerDelivery()),
				hostileFilePart("pod.pdf\x00.exe", "application/pdf", content))
			h.secrets = []string{fileFingerprint(content)}
			return h
		}, http.StatusBadRequest, "form_data", "not valid multipart"),
		Entry("more than 4 KiB after the closing boundary", func() hostile {
			body := hostileMultipart(hostileFormPart(attackerUpdate())) + strings.Repeat("junk", 2<<10)
			return postAs(who.attacker, hostileMultipartType, []byte(body))
		}, http.StatusBadRequest, "form_data", "after the multipart closing boundary"),

		// Sizes.
		Entry("form_data of 64 KiB and a byte", func() hostile {
			u := attackerUpdate()
			return attackerForm(u[:len(u)-1] + strings.Repeat(" ", DefaultMaxFormDataBytes-len(u)+1) + "}")
		}, http.StatusRequestEntityTooLarge, "form_data", "larger than 65536 bytes"),
		Entry("a JSON body of 64 KiB and a byte", func() hostile {
			u := attackerUpdate()
			return attackerJSON(u[:len(u)-1] + strings.Repeat(" ", DefaultMaxFormDataBytes-len(u)+1) + "}")
		}, http.StatusRequestEntityTooLarge, "form_data", "larger than 65536 bytes"),
		Entry("a POD one byte over the courier's cap", func() hostile {
			return attackerPOD("pod.pdf", "application/pdf", pdf(hostilePODCap-8))
		}, http.StatusRequestEntityTooLarge, "pod_file", fmt.Sprintf("limit of %d bytes", hostilePODCap)),
		Entry("a POD of 4 MiB", func() hostile {
			return attackerPOD("pod.pdf", "application/pdf", pdf(4<<20))
		}, http.StatusRequestEntityTooLarge, "pod_file", fmt.Sprintf("limit of %d bytes", hostilePODCap)),
		Entry("a body over the request's cap, padded in part headers", func() hostile {
			u := attackerDelivery()
			form := u[:len(u)-1] + strings.Repeat(" ", DefaultMaxFormDataBytes-len(u)-16) + "}"
			content := pdf(hostilePODCap - 16)
			h := attackerMultipart(hostileFormPart(form), hostilePart([]string{
				`Content-Disposition: form-data; name="pod_file"; filename="pod.pdf"`,
				"X-Padding: " + strings.Repeat("p", multipartOverhead+1024),
			}, string(content)))
			h.secrets = []string{fileFingerprint(content)}
			return h
		}, http.StatusRequestEntityTooLarge, "pod_file", "larger than the"),

		// The POD's content.
		Entry("an ELF executable named pod.pdf, declared application/pdf", func() hostile {
			return attackerPOD("pod.pdf", "application/pdf", elfExecutable())
		}, http.StatusUnsupportedMediaType, "pod_file", "judged by its content"),
		Entry("a PE executable named pod.pdf, declared application/pdf", func() hostile {
			return attackerPOD("pod.pdf", "application/pdf", peExecutable())
		}, http.StatusUnsupportedMediaType, "pod_file", "judged by its content"),
		Entry("a zip bomb as POD", func() hostile {
			return attackerPOD("pod.pdf", "application/pdf", zipBomb())
		}, http.StatusUnsupportedMediaType, "pod_file", "accepted: PDF, JPEG, PNG, WebP, HEIC"),
		Entry("a gzip bomb as POD", func() hostile {
			return attackerPOD("pod.pdf.gz", "application/gzip", gzipBomb())
		}, http.StatusUnsupportedMediaType, "pod_file", "accepted: PDF, JPEG, PNG, WebP, HEIC"),
		Entry("an SVG with a script, named pod.png", func() hostile {
			svg := []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.cookie)</script></svg>` +
				hex.EncodeToString(randomBytes(32)))
			return attackerPOD("pod.png", "image/png", svg)
		}, http.StatusUnsupportedMediaType, "pod_file", "judged by its content"),
		Entry("an empty pod_file", func() hostile {
			return attackerMultipart(hostileFormPart(attackerDelivery()), hostileFilePart("pod.pdf", "application/pdf", nil))
		}, http.StatusBadRequest, "pod_file", "pod_file is empty"),

		// The update object.
		Entry("a location that injects a log line", func() hostile {
			return attackerForm(attackerUpdate(`"location":"Colombo\n{\"level\":\"error\"}"`))
		}, http.StatusBadRequest, "location", "it is one line of text"),
		Entry("a location of 4 KiB", func() hostile {
			return attackerJSON(attackerUpdate(`"location":"` + strings.Repeat("x", 4<<10) + `"`))
		}, http.StatusBadRequest, "location", "at most 256 are allowed"),
		Entry("signedBy on a scan that is not a delivery", func() hostile {
			return attackerForm(attackerUpdate(`"signedBy":"Someone Else"`))
		}, http.StatusBadRequest, "signedBy", "only accepted with a Delivered track_status"),
		Entry("signedBy an object", func() hostile {
			return attackerJSON(update(hostileAttackerArticle, "Delivered", "2025-10-08T10:15:00Z", `"signedBy":{"name":"x"}`))
		}, http.StatusBadRequest, "signedBy", "not an object"),
		Entry("an unknown JSON field", func() hostile {
			return attackerForm(attackerUpdate(`"courier":"someone else"`))
		}, http.StatusBadRequest, "courier", "the allowed fields are articleId, track_status"),
		Entry("articleId and ArticleID, which encoding/json would fold together", func() hostile {
			return attackerJSON(attackerUpdate(`"ArticleID":"` + hostileVictimArticle + `"`))
		}, http.StatusBadRequest, "ArticleID", "is not a known field"),
		Entry("articleId twice, once spelled with \\u escapes", func() hostile {
			return attackerJSON(attackerUpdate(`"\u0061rticleId":"` + hostileVictimArticle + `"`))
		}, http.StatusBadRequest, "articleId", "articleId appears 2 times"),
		Entry("fifty unknown fields", func() hostile {
			var extra []string
			for i := range 50 {
				extra = append(extra, fmt.Sprintf(`"x%d":"%d"`, i, i))
			}
			return attackerJSON(attackerUpdate(extra...))
		}, http.StatusBadRequest, "form_data", "form_data has 40 more unknown fields"),
		Entry("a track_status of 60 KiB", func() hostile {
			return attackerJSON(update(hostileAttackerArticle, strings.Repeat("Lost", 15<<10), ""))
		}, http.StatusBadRequest, "track_status", "track_status is 61440 characters long; at most 128 are accepted"),
		Entry("a UTF-8 byte order mark before the JSON", func() hostile {
			return attackerJSON("\ufeff" + attackerUpdate())
		}, http.StatusBadRequest, "form_data", "invalid character"),
		Entry("a JSON key twice", func() hostile {
			return attackerJSON(attackerUpdate(`"articleId":"` + hostileVictimArticle + `"`))
		}, http.StatusBadRequest, "articleId", "articleId appears 2 times"),
		Entry("JSON nested 10,001 deep", func() hostile {
			return attackerJSON(`{"articleId":` + strings.Repeat("[", 10001) + strings.Repeat("]", 10001) + `}`)
		}, http.StatusBadRequest, "form_data", "exceeded max depth"),
		Entry("an object nested 100 deep where a string belongs", func() hostile {
			return attackerForm(attackerUpdate(`"remarks":` + strings.Repeat(`{"a":`, 100) + "1" + strings.Repeat("}", 100)))
		}, http.StatusBadRequest, "remarks", `must be a JSON string like "…", not an object`),
		Entry("a number for articleId", func() hostile {
			return attackerJSON(`{"articleId":1000000001,"track_status":"In Transit"}`)
		}, http.StatusBadRequest, "articleId", "not a number"),
		Entry("a boolean for track_status", func() hostile {
			return attackerJSON(`{"articleId":"` + hostileAttackerArticle + `","track_status":true}`)
		}, http.StatusBadRequest, "track_status", "not a boolean"),
		Entry("an array for remarks", func() hostile {
			return attackerJSON(attackerUpdate(`"remarks":["a","b"]`))
		}, http.StatusBadRequest, "remarks", "not an array"),
		Entry("null for eventId", func() hostile {
			return attackerJSON(attackerUpdate(`"eventId":null`))
		}, http.StatusBadRequest, "eventId", "not null"),
		Entry("a JSON array instead of an object", func() hostile {
			return attackerJSON("[" + attackerUpdate() + "]")
		}, http.StatusBadRequest, "form_data", "must be a JSON object"),
		Entry("trailing garbage after the JSON object", func() hostile {
			return attackerForm(attackerUpdate() + `{"articleId":"` + hostileVictimArticle + `"}`)
		}, http.StatusBadRequest, "form_data", "data after the JSON object"),
		Entry("an empty JSON body", func() hostile {
			return attackerJSON("")
		}, http.StatusBadRequest, "form_data", "form_data is empty"),
		Entry("invalid UTF-8 in remarks", func() hostile {
			return attackerForm(attackerUpdate("\"remarks\":\"caf\xe9\""))
		}, http.StatusBadRequest, "remarks", "not valid UTF-8"),
		Entry("invalid UTF-8 in articleId", func() hostile {
			return attackerJSON("{\"articleId\":\"ATK\xff\xfe1\",\"track_status\":\"In Transit\"}")
		}, http.StatusBadRequest, "articleId", "not valid UTF-8"),
		Entry("an unpaired surrogate escape in remarks", func() hostile {
			return attackerJSON(attackerUpdate(`"remarks":"\ud800 lone"`))
		}, http.StatusBadRequest, "remarks", "unpaired \\u surrogate"),
		Entry("a NUL in the article ID", func() hostile {
			return attackerJSON(`{"articleId":"` + hostileAttackerArticle + `\u0000x","track_status":"In Transit"}`)
		}, http.StatusBadRequest, "articleId", "may contain only letters, digits"),
		Entry("a NUL in the remarks", func() hostile {
			return attackerJSON(attackerUpdate(`"remarks":"ok\u0000hidden"`))
		}, http.StatusBadRequest, "remarks", "control character U+0000"),
		Entry("a raw NUL byte inside a JSON string", func() hostile {
			return attackerForm(attackerUpdate("\"remarks\":\"ok\x00hidden\""))
		}, http.StatusBadRequest, "form_data", "invalid character"),
		Entry("track_datetime at the Unix epoch", func() hostile {
			return attackerJSON(update(hostileAttackerArticle, "In Transit", "1970-01-01T00:00:00Z"))
		}, http.StatusBadRequest, "track_datetime", "before 2000-01-01T00:00:00Z, the earliest allowed"),
		Entry("track_datetime at Go's zero time", func() hostile {
			return attackerJSON(update(hostileAttackerArticle, "In Transit", "0001-01-01T00:00:00Z"))
		}, http.StatusBadRequest, "track_datetime", "the earliest allowed"),
		Entry("track_datetime in the year 9999", func() hostile {
			return attackerJSON(update(hostileAttackerArticle, "In Transit", "9999-12-31T23:59:59Z"))
		}, http.StatusBadRequest, "track_datetime", "is in the future; the latest allowed now is"),
		Entry("track_datetime six minutes ahead of the server", func() hostile {
			return attackerJSON(update(hostileAttackerArticle, "In Transit",
				time.Now().Add(6*time.Minute).UTC().Format(time.RFC3339)))
		}, http.StatusBadRequest, "track_datetime", "is in the future"),
		Entry("an unparseable track_datetime", func() hostile {
			return attackerJSON(update(hostileAttackerArticle, "In Transit", "yesterday at noon"))
		}, http.StatusBadRequest, "track_datetime", "is not an RFC 3339 time"),
		Entry("a leap second", func() hostile {
			return attackerJSON(update(hostileAttackerArticle, "In Transit", "2016-12-31T23:59:60Z"))
		}, http.StatusBadRequest, "track_datetime", "is not an RFC 3339 time"),
		Entry("a track_datetime without a zone", func() hostile {
			return attackerJSON(update(hostileAttackerArticle, "In Transit", "2025-10-08T09:00:00"))
		}, http.StatusBadRequest, "track_datetime", "is not an RFC 3339 time"),
		Entry("an article ID of 65 characters", func() hostile {
			return attackerJSON(update(strings.Repeat("A", 65), "In Transit", ""))
		}, http.StatusBadRequest, "articleId", "is 65 characters long; at most 64 are allowed"),
		Entry("an article ID that climbs directories", func() hostile {
			return attackerJSON(update("../../"+hostileVictimArticle, "In Transit", ""))
		}, http.StatusBadRequest, "articleId", "may contain only letters, digits"),
		Entry("an article ID with a CRLF and a header", func() hostile {
			return attackerJSON(update(hostileAttackerArticle+"\r\nX-Injected: 1", "In Transit", ""))
		}, http.StatusBadRequest, "articleId", "may contain only letters, digits"),
		Entry("an article ID in Cyrillic lookalikes", func() hostile {
			return attackerJSON(update("АТК1000000001", "In Transit", ""))
		}, http.StatusBadRequest, "articleId", "may contain only letters, digits"),
		Entry("an article ID starting with a dot", func() hostile {
			return attackerJSON(update(".ATK1", "In Transit", ""))
		}, http.StatusBadRequest, "articleId", "must start with a letter or digit"),
		Entry("no articleId", func() hostile {
			return attackerJSON(`{"track_status":"In Transit"}`)
		}, http.StatusBadRequest, "articleId", "articleId is required"),
		Entry("an unknown status spelling", func() hostile {
			return attackerJSON(update(hostileAttackerArticle, "Deliverd", ""))
		}, http.StatusBadRequest, "track_status", `"Received in Depo"`),
		Entry("an eventId with a path", func() hostile {
			return attackerJSON(attackerUpdate(`"eventId":"../../incoming/x"`))
		}, http.StatusBadRequest, "eventId", "may contain only letters, digits"),
		Entry("remarks of 1025 characters", func() hostile {
			return attackerJSON(attackerUpdate(fmt.Sprintf(`"remarks":%q`, strings.Repeat("é", 1025))))
		}, http.StatusBadRequest, "remarks", "at most 1024 are allowed"),

		// The batch endpoint.
		Entry("a batch of 501 updates", func() hostile {
			return batchAs(who.attacker, batchOf(MaxBatchItems+1))
		}, http.StatusRequestEntityTooLarge, "batch", "a batch carries at most 500 updates"),
		Entry("a batch larger than the courier's burst", func() hostile {
			return batchAs(who.attacker, batchOf(201))
		}, http.StatusRequestEntityTooLarge, "batch", "more than this courier's burst of 200"),
		Entry("a batch that is one object", func() hostile {
			return batchAs(who.attacker, attackerUpdate())
		}, http.StatusBadRequest, "batch", "must be a JSON array"),
		Entry("an empty batch", func() hostile {
			return batchAs(who.attacker, "[]")
		}, http.StatusBadRequest, "batch", "the batch is empty"),
		Entry("a batch sent as multipart", func() hostile {
			return hostile{req: asCourier(who.attacker, http.MethodPost, BatchPath, hostileMultipartType, []byte(batchOf(1))), route: BatchPath}
		}, http.StatusUnsupportedMediaType, "Content-Type", "application/json with a JSON array"),
		Entry("an unsigned batch from a courier that signs", func() hostile {
			return batchAs(who.signer, batchOf(1))
		}, http.StatusUnauthorized, "", "the request is not signed"),
		Entry("headers of a batch over MaxHeaderBytes", func() hostile {
			return hostile{plain: true, route: BatchPath, raw: "POST " + BatchPath + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
				"Authorization: Bearer " + who.attacker.token + "\r\nContent-Type: application/json\r\n" +
				"X-Padding: " + strings.Repeat("p", 2*MaxHeaderBytes) + "\r\nContent-Length: 0\r\n\r\n"}
		}, http.StatusRequestHeaderFieldsTooLarge, "", "431 Request Header Fields Too Large"),

		// HTTP itself.
		Entry("headers over MaxHeaderBytes", func() hostile {
			return hostile{plain: true, route: ParcelPath, raw: "GET /api/v1/parcels/" + hostileAttackerArticle + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
				"Authorization: Bearer " + who.attacker.token + "\r\n" +
				"X-Padding: " + strings.Repeat("p", 2*MaxHeaderBytes) + "\r\n\r\n"}
		}, http.StatusRequestHeaderFieldsTooLarge, "", "431 Request Header Fields Too Large"),
		Entry("headers of an update over MaxHeaderBytes", func() hostile {
			return hostile{plain: true, route: UpdatePath, raw: "POST " + UpdatePath + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
				"Authorization: Bearer " + who.attacker.token + "\r\nContent-Type: application/json\r\n" +
				"X-Padding: " + strings.Repeat("p", 2*MaxHeaderBytes) + "\r\nContent-Length: 0\r\n\r\n"}
		}, http.StatusRequestHeaderFieldsTooLarge, "", "431 Request Header Fields Too Large"),
		Entry("a request line over MaxHeaderBytes", func() hostile {
			return hostile{plain: true, route: ParcelPath, raw: "GET /api/v1/parcels/" + strings.Repeat("A", 2*MaxHeaderBytes) +
				" HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + who.attacker.token + "\r\n\r\n"}
		}, http.StatusRequestHeaderFieldsTooLarge, "", "431 Request Header Fields Too Large"),
		Entry("a header name with a space", func() hostile {
			return hostile{plain: true, route: UpdatePath, raw: "POST " + UpdatePath + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
				"Authorization: Bearer " + who.attacker.token + "\r\nBad Header: 1\r\nContent-Length: 0\r\n\r\n"}
		}, http.StatusBadRequest, "", "400 Bad Request"),
		Entry("two different Content-Length headers", func() hostile {
			body := attackerUpdate()
			return hostile{plain: true, route: UpdatePath, raw: "POST " + UpdatePath + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
				"Authorization: Bearer " + who.attacker.token + "\r\nContent-Type: application/json\r\n" +
				fmt.Sprintf("Content-Length: %d\r\nContent-Length: %d\r\n\r\n", len(body), len(body)-1) + body}
		}, http.StatusBadRequest, "", "400 Bad Request"),
		Entry("HTTP/1.1 without a Host header", func() hostile {
			return hostile{plain: true, route: UpdatePath, raw: "POST " + UpdatePath + " HTTP/1.1\r\n" +
				"Authorization: Bearer " + who.attacker.token + "\r\nContent-Length: 0\r\n\r\n"}
		}, http.StatusBadRequest, "", "missing required Host header"),
		Entry("PUT on the update route", func() hostile {
			return hostile{req: asCourier(who.attacker, http.MethodPut, UpdatePath, "application/json", []byte(attackerUpdate()))}
		}, http.StatusMethodNotAllowed, "", "PUT is not allowed on "+UpdatePath+"; use POST"),
		Entry("DELETE on a parcel", func() hostile {
			return hostile{req: asCourier(who.attacker, http.MethodDelete, "/api/v1/parcels/"+hostileAttackerArticle, "", nil)}
		}, http.StatusMethodNotAllowed, "", "use GET, HEAD"),
		Entry("an article ID in the path with encoded slashes", func() hostile {
			return hostile{req: asCourier(who.attacker, http.MethodGet, "/api/v1/parcels/..%2F..%2F"+hostileVictimArticle, "", nil),
				route: ParcelPath}
		}, http.StatusBadRequest, "articleId", "may contain only letters, digits"),
		Entry("an article ID of 65 characters in the path", func() hostile {
			return hostile{req: asCourier(who.attacker, http.MethodGet, "/api/v1/parcels/"+strings.Repeat("A", 65), "", nil),
				route: ParcelPath}
		}, http.StatusBadRequest, "articleId", "at most 64 are allowed"),
		Entry("an encoded NUL in the path's article ID", func() hostile {
			return hostile{req: asCourier(who.attacker, http.MethodGet, "/api/v1/parcels/"+hostileAttackerArticle+"%00", "", nil),
				route: ParcelPath}
		}, http.StatusBadRequest, "articleId", "may contain only letters, digits"),
	)

	It("cuts off a slowloris client within ReadHeaderTimeout", func() {
		conn, err := net.Dial("tcp", strings.TrimPrefix(apiURL, "http://"))
		Expect(err).NotTo(HaveOccurred())
		defer func() { _ = conn.Close() }()
		start := time.Now()
		_, err = io.WriteString(conn, slowHeader)
		Expect(err).NotTo(HaveOccurred())

		closed := make(chan time.Duration, 1)
		go func() {
			buf := make([]byte, 512)
			for {
				if _, err := conn.Read(buf); err != nil {
					closed <- time.Since(start)
					return
				}
			}
		}()
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			tick := time.NewTicker(time.Second)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
					if _, err := conn.Write([]byte("a")); err != nil {
						return
					}
				}
			}
		}()

		var took time.Duration
		Eventually(closed).WithTimeout(ReadHeaderTimeout + 2*time.Second).WithPolling(100 * time.Millisecond).
			Should(Receive(&took))
		GinkgoWriter.Printf("the slowloris connection was closed after %s\n", took)
		Expect(took).To(BeNumerically(">=", ReadHeaderTimeout-time.Second), "a byte a second keeps the header open until then")
	})

	It("created and changed nothing, in the attacker's, the signer's or the victim's namespace, nor in the bucket", func() {
		Expect(snapshotHostileState(bucket)).To(Equal(before))
		Expect(who.victim.parcel(hostileVictimArticle).Spec.Events).To(HaveLen(1))
	})

	It("is still up: /healthz answers and a valid update is recorded", func() {
		resp, err := httpClient.Get(apiURL + HealthzPath)
		Expect(err).NotTo(HaveOccurred())
		_ = resp.Body.Close()
		Expect(resp.StatusCode).To(Equal(http.StatusOK))

		a := who.attacker.postForm(update(hostileAttackerArticle, "Loaded by Driver", "2025-10-08T08:00:00Z"), nil)
		Expect(a.code).To(Equal(http.StatusOK), "%s", a.body)
		Expect(a.json()).To(HaveKeyWithValue("result", "applied"))
		body := signerUpdate()
		a = do(signerRequest(http.MethodPost, UpdatePath, "application/json", []byte(body),
			signNow(body, 0, who.signer.hmacKey)), UpdatePath)
		Expect(a.code).To(Equal(http.StatusOK), "%s", a.body)
	})
})

var _ = Describe("Hostile requests that are not refused", func() {
	It("accepts an article ID of exactly 64 characters", func() {
		c := newCourier()
		id := strings.Repeat("A", 63) + "9"
		a := c.postJSON(update(id, "Received in Depo", "2025-10-08T07:00:00Z"))
		Expect(a.code).To(Equal(http.StatusOK), "%s", a.body)
		Expect(c.parcel(id).Spec.ArticleID).To(Equal(id))
		Eventually(func() int { return c.getParcel(id).code }).Should(Equal(http.StatusOK))
	})

	It("lets a courier that may create parcels write the victim's article ID only into its own namespace", func() {
		victim, attacker := newCourier(), newCourier()
		Expect(victim.postJSON(update(hostileVictimArticle, "Received in Depo", "2025-10-08T07:00:00Z")).code).
			To(Equal(http.StatusOK))
		was := victim.parcel(hostileVictimArticle)
		a := attacker.postJSON(update(hostileVictimArticle, "Delivered", "2025-10-08T10:15:00Z"))
		Expect(a.code).To(Equal(http.StatusConflict), "%s", a.body)
		Expect(a.json()).To(HaveKeyWithValue("parcel", attacker.ns+"/"+trackingv1alpha1.ParcelName(hostileVictimArticle)))
		now := victim.parcel(hostileVictimArticle)
		Expect(now.Generation).To(Equal(was.Generation))
		Expect(now.Spec).To(Equal(was.Spec))
		Expect(attacker.parcel(hostileVictimArticle).Spec.Events).To(HaveLen(1))
	})

	DescribeTable("reduces a hostile filename to a safe base name, and stores the file under the event's key only",
		func(filename, want string) {
			c := newCourier()
			c.deliverable("FN1")
			content := pdf(1024)
			body := hostileMultipart(hostileFormPart(update("FN1", "Delivered", "2025-10-08T10:15:00Z", `"eventId":"fn-1"`)),
				hostileFilePart(filename, "application/pdf", content))
			a := do(c.request(http.MethodPost, UpdatePath, hostileMultipartType, strings.NewReader(body)), UpdatePath)
			Expect(a.code).To(Equal(http.StatusOK), "%s", a.body)
			Expect(string(a.body)).NotTo(ContainSubstring(fileFingerprint(content)))
			upload := c.parcel("FN1").Spec.Events[3].ProofOfDelivery
			Expect(upload).NotTo(BeNil())
			Expect(upload.Filename).To(Equal(want))
			Expect(upload.StagingKey).To(MatchRegexp(`^incoming/` + c.ns + `/fn-1/[a-f0-9]{16}$`))
		},
		Entry("../../etc/passwd", "../../etc/passwd", "passwd"),
		Entry("an absolute path", "/etc/cron.d/evil.pdf", "evil.pdf"),
		Entry("Windows backslashes", `C:\Windows\System32\evil.pdf`, "evil.pdf"),
		Entry("dots only", "..", ""),
		Entry("invalid UTF-8", "pod\xff\xfe.pdf", "pod.pdf"),
		Entry("a right-to-left override disguising the extension", "pod\u202efdp.exe", "podfdp.exe"),
	)
})
