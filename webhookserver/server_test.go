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
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
	"github.com/parcelops/parcel-operator/docs"
	"github.com/parcelops/parcel-operator/internal/podstore"
	"github.com/parcelops/parcel-operator/internal/signature"
)

// seedExample is the courier's example from the product brief, verbatim.
const seedExample = `{"articleId":"ARP1000052447","track_status":"Delivered","track_datetime":"2025-10-08T10:15:00Z","remarks":"Delivered successfully"}`

// observed records every (method, route, status) the specs saw, to check
// the OpenAPI document against what the handler really answers.
var observed = struct {
	sync.Mutex
	codes map[string]map[string]bool
}{codes: map[string]map[string]bool{}}

func observe(method, route string, code int) {
	observed.Lock()
	defer observed.Unlock()
	op := method + " " + route
	if observed.codes[op] == nil {
		observed.codes[op] = map[string]bool{}
	}
	observed.codes[op][fmt.Sprint(code)] = true
}

// courier is a Courier with its Secret, in a namespace of its own. When
// hmacKey is set, its requests are signed with it.
type courier struct {
	ns, name, token string
	hmacKey         []byte
}

func randomToken() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newCourier creates a Courier and waits until it is Ready.
func newCourier(mutate ...func(*trackingv1alpha1.Courier)) *courier {
	GinkgoHelper()
	return newCourierWithSecret(nil, mutate...)
}

// newSigningCourier creates a Courier whose Secret holds an hmacKey, and
// signs its requests with it.
func newSigningCourier(mutate ...func(*trackingv1alpha1.Courier)) *courier {
	GinkgoHelper()
	key := randomToken()
	c := newCourierWithSecret(map[string]string{trackingv1alpha1.CourierHMACKey: key}, mutate...)
	c.hmacKey = []byte(key)
	return c
}

// newCourierWithSecret creates a Courier whose Secret holds a fresh token
// and extra, and waits until it is Ready.
func newCourierWithSecret(extra map[string]string, mutate ...func(*trackingv1alpha1.Courier)) *courier {
	GinkgoHelper()
	c := createCourier(extra, mutate...)
	Eventually(c.readiness).Should(HaveField("Status", metav1.ConditionTrue))
	return c
}

// createCourier creates a Courier whose Secret holds a fresh token and
// extra, in a namespace of its own, without waiting for it.
func createCourier(extra map[string]string, mutate ...func(*trackingv1alpha1.Courier)) *courier {
	GinkgoHelper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "courier-"}}
	Expect(k8sClient.Create(ctx, ns)).To(Succeed())
	c := &courier{ns: ns.Name, name: "acme", token: randomToken()}
	data := map[string]string{trackingv1alpha1.CourierTokenKey: c.token}
	maps.Copy(data, extra)
	Expect(k8sClient.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: c.ns, Name: "acme-token",
			Labels: map[string]string{trackingv1alpha1.CourierCredentialsLabel: "true"}},
		StringData: data,
	})).To(Succeed())
	obj := &trackingv1alpha1.Courier{
		ObjectMeta: metav1.ObjectMeta{Namespace: c.ns, Name: c.name},
		Spec: trackingv1alpha1.CourierSpec{
			DisplayName: "ACME Logistics",
			SecretRef:   trackingv1alpha1.SecretReference{Name: "acme-token"},
		},
	}
	for _, m := range mutate {
		m(obj)
	}
	Expect(k8sClient.Create(ctx, obj)).To(Succeed())
	return c
}

// readiness is the courier's Ready condition, or an Unknown one before
// the reconciler has written it.
func (c *courier) readiness() metav1.Condition {
	GinkgoHelper()
	got := &trackingv1alpha1.Courier{}
	Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: c.ns, Name: c.name}, got)).To(Succeed())
	if ready := meta.FindStatusCondition(got.Status.Conditions, trackingv1alpha1.ConditionReady); ready != nil {
		return *ready
	}
	return metav1.Condition{Type: trackingv1alpha1.ConditionReady, Status: metav1.ConditionUnknown}
}

// answer is a decoded response.
type answer struct {
	code   int
	header http.Header
	body   []byte
}

func (a answer) json() map[string]any {
	GinkgoHelper()
	out := map[string]any{}
	Expect(json.Unmarshal(a.body, &out)).To(Succeed(), "body: %s", a.body)
	return out
}

func do(req *http.Request, route string) answer {
	GinkgoHelper()
	resp, err := httpClient.Do(req)
	Expect(err).NotTo(HaveOccurred())
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	Expect(err).NotTo(HaveOccurred())
	observe(req.Method, route, resp.StatusCode)
	return answer{code: resp.StatusCode, header: resp.Header, body: body}
}

// request builds a request from the courier to the suite's server: with
// its token, and signed now when it has an hmacKey.
func (c *courier) request(method, path, contentType string, body io.Reader) *http.Request {
	GinkgoHelper()
	return c.requestTo(apiURL, method, path, contentType, body)
}

// requestTo is request to the server at base.
func (c *courier) requestTo(base, method, path, contentType string, body io.Reader) *http.Request {
	GinkgoHelper()
	var raw []byte
	if body != nil {
		var err error
		raw, err = io.ReadAll(body)
		Expect(err).NotTo(HaveOccurred())
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, bytes.NewReader(raw))
	Expect(err).NotTo(HaveOccurred())
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c != nil {
		req.Header.Set("Authorization", "Bearer "+c.token)
		if c.hmacKey != nil {
			req.Header.Set(signature.Header, signature.Sign(time.Now().Unix(), raw, c.hmacKey))
		}
	}
	return req
}

func (c *courier) postJSON(body string) answer {
	GinkgoHelper()
	return do(c.request(http.MethodPost, UpdatePath, "application/json", strings.NewReader(body)), UpdatePath)
}

// postForm posts form_data and, when pod is not nil, a pod_file part.
func (c *courier) postForm(formData string, pod []byte) answer {
	GinkgoHelper()
	body, contentType := formBody(formData, pod)
	return do(c.request(http.MethodPost, UpdatePath, contentType, bytes.NewReader(body)), UpdatePath)
}

// formBody is a multipart body: form_data, then pod as pod_file when not
// nil, then a part for each of extra.
func formBody(formData string, pod []byte, extra ...string) (body []byte, contentType string) {
	GinkgoHelper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	Expect(mw.WriteField("form_data", formData)).To(Succeed())
	if pod != nil {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="pod_file"; filename="pod.pdf"`)
		h.Set("Content-Type", "application/pdf")
		part, err := mw.CreatePart(h)
		Expect(err).NotTo(HaveOccurred())
		_, err = part.Write(pod)
		Expect(err).NotTo(HaveOccurred())
	}
	for _, name := range extra {
		Expect(mw.WriteField(name, "x")).To(Succeed())
	}
	Expect(mw.Close()).To(Succeed())
	return buf.Bytes(), mw.FormDataContentType()
}

func (c *courier) getParcel(articleID string) answer {
	GinkgoHelper()
	return do(c.request(http.MethodGet, "/api/v1/parcels/"+articleID, "", nil), ParcelPath)
}

// update builds a form_data object.
func update(articleID, status, datetime string, extra ...string) string {
	fields := []string{fmt.Sprintf(`"articleId":%q`, articleID), fmt.Sprintf(`"track_status":%q`, status)}
	if datetime != "" {
		fields = append(fields, fmt.Sprintf(`"track_datetime":%q`, datetime))
	}
	fields = append(fields, extra...)
	return "{" + strings.Join(fields, ",") + "}"
}

func (c *courier) parcel(articleID string) *trackingv1alpha1.Parcel {
	GinkgoHelper()
	p := &trackingv1alpha1.Parcel{}
	Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: c.ns, Name: trackingv1alpha1.ParcelName(articleID)}, p)).To(Succeed())
	return p
}

func (c *courier) parcelCount() int {
	GinkgoHelper()
	list := &trackingv1alpha1.ParcelList{}
	Expect(k8sClient.List(ctx, list, client.InNamespace(c.ns))).To(Succeed())
	return len(list.Items)
}

func pdf(size int) []byte {
	b := make([]byte, size)
	_, _ = rand.Read(b)
	return append([]byte("%PDF-1.7\n"), b...)
}

// deliverable posts the scans before delivery for articleID.
func (c *courier) deliverable(articleID string) {
	GinkgoHelper()
	for i, status := range []string{"Received in Depo", "Loaded by Driver", "In Transit"} {
		a := c.postForm(update(articleID, status, fmt.Sprintf("2025-10-08T0%d:00:00Z", 7+i)), nil)
		Expect(a.code).To(Equal(http.StatusOK), "%s", a.body)
	}
}

var _ = Describe("POST "+UpdatePath, func() {
	It("records the seed example verbatim and answers with the transition", func() {
		c := newCourier()
		c.deliverable("ARP1000052447")
		a := c.postJSON(seedExample)
		Expect(a.code).To(Equal(http.StatusOK), "%s", a.body)
		Expect(a.header.Get("Content-Type")).To(Equal("application/json"))
		body := a.json()
		Expect(body).To(HaveKeyWithValue("result", "applied"))
		Expect(body).To(HaveKeyWithValue("status", "Delivered"))
		Expect(body).To(HaveKeyWithValue("statusDisplay", "Delivered"))
		Expect(body).To(HaveKeyWithValue("previousStatus", "InTransit"))
		Expect(body).To(HaveKeyWithValue("phase", "Delivered"))
		Expect(body).To(HaveKeyWithValue("parcel", c.ns+"/arp1000052447"))
		Expect(body).To(HaveKeyWithValue("proofOfDelivery", "none"))
		wantID := trackingv1alpha1.DeriveEventID("ARP1000052447", trackingv1alpha1.StatusDelivered,
			time.Date(2025, 10, 8, 10, 15, 0, 0, time.UTC))
		Expect(body).To(HaveKeyWithValue("eventId", wantID))

		p := c.parcel("ARP1000052447")
		Expect(p.Labels).To(HaveKeyWithValue(trackingv1alpha1.ArticleIDLabel, "ARP1000052447"))
		Expect(p.Spec.Events).To(HaveLen(4))
		last := p.Spec.Events[3]
		Expect(last.ID).To(Equal(wantID))
		Expect(last.Remarks).To(Equal("Delivered successfully"))
		Expect(last.Source).To(Equal("acme"))
		Expect(last.ReceivedAt).NotTo(BeNil())
		Eventually(func() trackingv1alpha1.TrackingStatus { return c.parcel("ARP1000052447").Status.Phase }).
			Should(Equal(trackingv1alpha1.StatusDelivered))
	})

	It("keeps where a scan happened and who signed for the delivery, and reads them back", func() {
		c := newCourier()
		c.deliverable("ARP1000052448")
		a := c.postJSON(update("ARP1000052448", "Delivered", "2025-10-08T10:15:00Z",
			`"location":"Colombo 03, Galle Rd"`, `"signedBy":"R. Perera"`))
		Expect(a.code).To(Equal(http.StatusOK), "%s", a.body)
		last := c.parcel("ARP1000052448").Spec.Events[3]
		Expect(last.Location).To(Equal("Colombo 03, Galle Rd"))
		Expect(last.SignedBy).To(Equal("R. Perera"))

		read := c.getParcel("ARP1000052448")
		Expect(read.code).To(Equal(http.StatusOK), "%s", read.body)
		var view ParcelView
		Expect(json.Unmarshal(read.body, &view)).To(Succeed())
		Expect(view.Events).To(HaveLen(4))
		Expect(view.Events[3].Location).To(Equal("Colombo 03, Galle Rd"))
		Expect(view.Events[3].SignedBy).To(Equal("R. Perera"))
		Expect(view.Events[0].Location).To(BeEmpty())
		Expect(string(read.body)).NotTo(ContainSubstring(`"signedBy":""`), "absent when not sent")

		By("refusing signedBy on a scan that is not a delivery, writing nothing")
		before := c.parcel("ARP1000052448")
		refused := c.postJSON(update("ARP1000052448", "In Transit", "2025-10-08T11:00:00Z", `"signedBy":"R. Perera"`))
		Expect(refused.code).To(Equal(http.StatusBadRequest), "%s", refused.body)
		Expect(string(refused.body)).To(ContainSubstring("signedBy is only accepted with a Delivered track_status"))
		Expect(c.parcel("ARP1000052448").Spec).To(Equal(before.Spec))
	})

	It("records a urlencoded update, as Python requests' data= and PHP's http_build_query send it", func() {
		c := newCourier()
		c.deliverable("ARP1000052447")
		body := url.Values{"form_data": {seedExample}}.Encode()
		a := do(c.request(http.MethodPost, UpdatePath, "application/x-www-form-urlencoded", strings.NewReader(body)), UpdatePath)
		Expect(a.code).To(Equal(http.StatusOK), "%s", a.body)
		Expect(a.json()).To(HaveKeyWithValue("result", "applied"))
		Expect(a.json()).To(HaveKeyWithValue("proofOfDelivery", "none"))

		p := c.parcel("ARP1000052447")
		Expect(p.Spec.Events).To(HaveLen(4))
		Expect(p.Spec.Events[3].Status).To(Equal(trackingv1alpha1.StatusDelivered))
		Expect(p.Spec.Events[3].Remarks).To(Equal("Delivered successfully"))

		again := do(c.request(http.MethodPost, UpdatePath, "application/x-www-form-urlencoded", strings.NewReader(body)), UpdatePath)
		Expect(again.code).To(Equal(http.StatusOK), "%s", again.body)
		Expect(again.json()).To(HaveKeyWithValue("result", "duplicate"))
	})

	DescribeTable("accepts every seed spelling",
		func(spelling string, want trackingv1alpha1.TrackingStatus) {
			c := newCourier()
			a := c.postForm(update("ARP1", spelling, "2025-10-08T07:00:00Z"), nil)
			Expect(a.code).To(BeElementOf(http.StatusOK, http.StatusConflict), "%s", a.body)
			Expect(a.json()).To(HaveKeyWithValue("status", string(want)))
			Expect(c.parcel("ARP1").Spec.Events[0].Status).To(Equal(want))
		},
		Entry("Not Scanned", "Not Scanned", trackingv1alpha1.StatusNotScanned),
		Entry("Received in Depo", "Received in Depo", trackingv1alpha1.StatusReceivedInDepot),
		Entry("Received in Depot", "Received in Depot", trackingv1alpha1.StatusReceivedInDepot),
		Entry("Loaded by Driver", "Loaded by Driver", trackingv1alpha1.StatusLoadedByDriver),
		Entry("In Transit", "In Transit", trackingv1alpha1.StatusInTransit),
		Entry("Delivered", "Delivered", trackingv1alpha1.StatusDelivered),
		Entry("Failed Delivery", "Failed Delivery", trackingv1alpha1.StatusFailedDelivery),
		Entry("RTS- Return to Sender", "RTS- Return to Sender", trackingv1alpha1.StatusReturnToSender),
		Entry("RTS", "RTS", trackingv1alpha1.StatusReturnToSender),
		Entry("RD- Return to depo", "RD- Return to depo", trackingv1alpha1.StatusReturnToDepot),
		Entry("RD", "RD", trackingv1alpha1.StatusReturnToDepot),
	)

	It("stages a delivery's PDF, and the reconciler stores it at its final key with the same digest", func() {
		c := newCourier()
		c.deliverable("ARP2")
		content := pdf(100 << 10)
		a := c.postForm(update("ARP2", "Delivered", "2025-10-08T10:15:00Z", `"eventId":"acme-42"`), content)
		Expect(a.code).To(Equal(http.StatusOK), "%s", a.body)
		Expect(a.json()).To(HaveKeyWithValue("proofOfDelivery", "staged"))
		Expect(a.json()).To(HaveKeyWithValue("eventId", "acme-42"))

		sum := sha256.Sum256(content)
		digest := hex.EncodeToString(sum[:])
		event := c.parcel("ARP2").Spec.Events[3]
		Expect(event.ProofOfDelivery).NotTo(BeNil())
		Expect(event.ProofOfDelivery.SHA256).To(Equal(digest))
		Expect(event.ProofOfDelivery.Size).To(Equal(int64(len(content))))
		Expect(event.ProofOfDelivery.ContentType).To(Equal(trackingv1alpha1.ContentTypePDF))
		Expect(event.ProofOfDelivery.Filename).To(Equal("pod.pdf"))

		finalKey := podstore.FinalKey(c.ns, "arp2", "acme-42", trackingv1alpha1.ContentTypePDF)
		Eventually(func(g Gomega) {
			p := c.parcel("ARP2")
			g.Expect(p.Status.ProofOfDelivery).To(HaveLen(1))
			g.Expect(p.Status.ProofOfDelivery[0].SHA256).To(Equal(digest))
			g.Expect(p.Status.ProofOfDelivery[0].URL).To(Equal(store.ObjectURL(finalKey)))
		}).Should(Succeed())
		Expect(store.Exists(ctx, finalKey)).To(BeTrue())
		Expect(store.Exists(ctx, c.parcel("ARP2").Spec.Events[3].ProofOfDelivery.StagingKey)).To(BeFalse())

		Eventually(func(g Gomega) {
			view := c.getParcel("ARP2")
			g.Expect(view.code).To(Equal(http.StatusOK))
			g.Expect(view.json()["proofOfDelivery"]).To(ConsistOf(HaveKeyWithValue("sha256", digest)))
		}).Should(Succeed())
	})

	It("keeps a proof of delivery sent after its update: attached, stored, then the same file a duplicate and another refused", func() {
		c := newCourier()
		c.deliverable("ARP5")
		delivered := update("ARP5", "Delivered", "2025-10-08T10:15:00Z", `"remarks":"Delivered successfully"`)
		first := c.postForm(delivered, nil)
		Expect(first.code).To(Equal(http.StatusOK), "%s", first.body)
		Expect(first.json()).To(HaveKeyWithValue("proofOfDelivery", "none"))
		eventID := first.json()["eventId"].(string)
		// The cache must have seen the event, as it has a minute later.
		Eventually(func(g Gomega) {
			cached := &trackingv1alpha1.Parcel{}
			g.Expect(server.Client.Get(ctx, client.ObjectKey{Namespace: c.ns, Name: "arp5"}, cached)).To(Succeed())
			g.Expect(cached.Spec.Events).To(HaveLen(4))
		}).Should(Succeed())

		By("attaching the file that comes with the same update a minute later")
		content := pdf(40 << 10)
		sum := sha256.Sum256(content)
		digest := hex.EncodeToString(sum[:])
		late := c.postForm(delivered, content)
		Expect(late.code).To(Equal(http.StatusOK), "%s", late.body)
		Expect(late.json()).To(HaveKeyWithValue("result", "attached"))
		Expect(late.json()).To(HaveKeyWithValue("proofOfDelivery", "staged"))
		Expect(late.json()).To(HaveKeyWithValue("eventId", eventID))
		Expect(late.json()).To(HaveKeyWithValue("phase", "Delivered"))
		p := c.parcel("ARP5")
		Expect(p.Spec.Events).To(HaveLen(5), "the file is kept as a repeat of the event")
		Expect(p.Spec.Events[4].ID).To(Equal(eventID))
		Expect(p.Spec.Events[4].ProofOfDelivery).NotTo(BeNil())
		Expect(p.Spec.Events[4].ProofOfDelivery.SHA256).To(Equal(digest))

		finalKey := podstore.FinalKey(c.ns, "arp5", eventID, trackingv1alpha1.ContentTypePDF)
		Eventually(func(g Gomega) {
			p := c.parcel("ARP5")
			g.Expect(p.Status.ProofOfDelivery).To(ConsistOf(And(
				HaveField("EventID", eventID), HaveField("SHA256", digest), HaveField("URL", store.ObjectURL(finalKey)))))
			g.Expect(p.Status.Phase).To(Equal(trackingv1alpha1.StatusDelivered))
			g.Expect(p.Status.History).To(HaveLen(5))
			g.Expect(p.Status.History[4].Result).To(Equal(trackingv1alpha1.ResultDuplicate), "the repeat changes no verdict")
		}).Should(Succeed())
		Expect(store.Exists(ctx, finalKey)).To(BeTrue())
		Expect(store.Exists(ctx, p.Spec.Events[4].ProofOfDelivery.StagingKey)).To(BeFalse())
		Eventually(func(g Gomega) {
			cached := &trackingv1alpha1.Parcel{}
			g.Expect(server.Client.Get(ctx, client.ObjectKey{Namespace: c.ns, Name: "arp5"}, cached)).To(Succeed())
			g.Expect(cached.Status.ProofOfDelivery).To(HaveLen(1))
		}).Should(Succeed())
		generation := c.parcel("ARP5").Generation

		By("answering the same file again duplicate, writing nothing and keeping no upload")
		again := c.postForm(delivered, content)
		Expect(again.code).To(Equal(http.StatusOK), "%s", again.body)
		Expect(again.json()).To(HaveKeyWithValue("result", "duplicate"))
		Expect(again.json()).To(HaveKeyWithValue("proofOfDelivery", "stored"))

		By("refusing a different file with a 409 that names the event")
		other := c.postForm(delivered, pdf(30<<10))
		Expect(other.code).To(Equal(http.StatusConflict), "%s", other.body)
		Expect(other.header.Get("Content-Type")).To(Equal("application/problem+json"))
		Expect(other.json()).To(HaveKeyWithValue("type", problemTypeBase+"proof-of-delivery-conflict"))
		Expect(other.json()).To(HaveKeyWithValue("eventId", eventID))
		Expect(other.json()["detail"]).To(ContainSubstring(digest))

		Expect(c.parcel("ARP5").Generation).To(Equal(generation), "neither may write")
		Eventually(func(g Gomega) {
			staged, err := store.ListStaged(ctx, time.Now().Add(time.Hour))
			g.Expect(err).NotTo(HaveOccurred())
			for _, o := range staged {
				g.Expect(o.Namespace == c.ns && o.EventID == eventID).To(BeFalse(), "upload %s left behind", o.Key)
			}
		}).Should(Succeed())
	})

	It("reads a courier's own status codes through its statusAliases, keeps what it sent, and applies a changed mapping to new updates only", func() {
		c := newCourier(func(obj *trackingv1alpha1.Courier) {
			obj.Spec.StatusAliases = map[string]trackingv1alpha1.TrackingStatus{
				"EIN": trackingv1alpha1.StatusReceivedInDepot, "DL": trackingv1alpha1.StatusDelivered,
			}
		})
		a := c.postJSON(update("ARP6", "ein", "2025-10-08T07:00:00Z"))
		Expect(a.code).To(Equal(http.StatusOK), "%s", a.body)
		Expect(a.json()).To(HaveKeyWithValue("status", "ReceivedInDepot"))
		Expect(a.json()).To(HaveKeyWithValue("result", "applied"))
		builtIn := c.postJSON(update("ARP6", "Loaded by Driver", "2025-10-08T08:00:00Z"))
		Expect(builtIn.code).To(Equal(http.StatusOK), "%s", builtIn.body)
		events := c.parcel("ARP6").Spec.Events
		Expect(events[0].Status).To(Equal(trackingv1alpha1.StatusReceivedInDepot))
		Expect(events[0].ReportedStatus).To(Equal("ein"), "what the courier sent, to audit the mapping")
		Expect(events[1].ReportedStatus).To(BeEmpty(), "a built-in spelling needs no audit")
		Eventually(func(g Gomega) {
			view := c.getParcel("ARP6")
			g.Expect(view.code).To(Equal(http.StatusOK))
			g.Expect(view.json()["events"]).To(ContainElement(HaveKeyWithValue("reportedStatus", "ein")))
		}).Should(Succeed())

		By("listing the courier's codes among the accepted values of a 400")
		unknown := c.postJSON(update("ARP6", "Retour", "2025-10-08T09:00:00Z"))
		Expect(unknown.code).To(Equal(http.StatusBadRequest), "%s", unknown.body)
		Expect(string(unknown.body)).To(ContainSubstring(`track_status \"Retour\" is not a known status`))
		Expect(unknown.json()["errors"]).To(ContainElement(HaveKeyWithValue("accepted", ContainElements("DL", "EIN", "Received in Depo"))))

		By("changing the mapping: new updates read it, recorded events keep their status")
		courier := &trackingv1alpha1.Courier{}
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: c.ns, Name: c.name}, courier)).To(Succeed())
		courier.Spec.StatusAliases = map[string]trackingv1alpha1.TrackingStatus{"EIN": trackingv1alpha1.StatusReturnToDepot}
		Expect(k8sClient.Update(ctx, courier)).To(Succeed())
		Eventually(func(g Gomega) {
			a := c.postJSON(update("ARP7", "EIN", "2025-10-08T07:00:00Z"))
			g.Expect(a.code).To(BeElementOf(http.StatusOK, http.StatusConflict), "%s", a.body)
			g.Expect(a.json()).To(HaveKeyWithValue("status", "ReturnToDepot"))
		}).Should(Succeed())
		Expect(c.parcel("ARP6").Spec.Events[0].Status).To(Equal(trackingv1alpha1.StatusReceivedInDepot))
	})

	It("answers a retried update duplicate and writes nothing", func() {
		c := newCourier()
		first := c.postForm(update("ARP3", "Received in Depo", "2025-10-08T07:00:00Z"), nil)
		Expect(first.code).To(Equal(http.StatusOK))
		Eventually(func() int { return len(c.parcel("ARP3").Spec.Events) }).Should(Equal(1))
		generation := c.parcel("ARP3").Generation
		// The manager's cache must have seen the first write for the retry
		// to be answered without one.
		Eventually(func(g Gomega) {
			cached := &trackingv1alpha1.Parcel{}
			g.Expect(server.Client.Get(ctx, client.ObjectKey{Namespace: c.ns, Name: "arp3"}, cached)).To(Succeed())
		}).Should(Succeed())

		again := c.postForm(update("ARP3", "received in depot", "2025-10-08T07:00:00Z"), nil)
		Expect(again.code).To(Equal(http.StatusOK), "%s", again.body)
		Expect(again.json()).To(HaveKeyWithValue("result", "duplicate"))
		Expect(again.json()["eventId"]).To(Equal(first.json()["eventId"]))
		Expect(c.parcel("ARP3").Generation).To(Equal(generation), "a retry must not write")
		Expect(c.parcel("ARP3").Spec.Events).To(HaveLen(1))
	})

	It("answers a re-scan of the current status unchanged", func() {
		c := newCourier()
		Expect(c.postForm(update("ARP10", "Received in Depo", "2025-10-08T07:00:00Z"), nil).code).To(Equal(http.StatusOK))
		a := c.postForm(update("ARP10", "Received in Depot", "2025-10-08T07:30:00Z", `"remarks":"scanned again"`), nil)
		Expect(a.code).To(Equal(http.StatusOK), "%s", a.body)
		Expect(a.json()).To(HaveKeyWithValue("result", "unchanged"))
		Expect(a.json()).To(HaveKeyWithValue("previousStatus", "ReceivedInDepot"))
		Expect(a.json()["message"]).To(Equal("recorded: a re-scan, the parcel was already Received in Depot"))
		Expect(c.parcel("ARP10").Spec.Events).To(HaveLen(2))
	})

	It("records an out-of-order update as rejected, and it applies once the earlier scans arrive", func() {
		c := newCourier()
		a := c.postForm(update("ARP4", "In Transit", "2025-10-08T09:00:00Z"), nil)
		Expect(a.code).To(Equal(http.StatusConflict), "%s", a.body)
		body := a.json()
		Expect(body).To(HaveKeyWithValue("result", "rejected"))
		Expect(body).To(HaveKeyWithValue("previousStatus", "NotScanned"))
		Expect(body["reason"]).To(Equal("transition Not Scanned -> In Transit is not allowed; allowed after Not Scanned: Received in Depot"))
		Expect(body["message"]).To(ContainSubstring("the event is kept and will apply if the missing earlier events arrive"))
		Expect(c.parcel("ARP4").Spec.Events).To(HaveLen(1), "a rejected event is still recorded")

		for _, s := range []string{"Received in Depo", "Loaded by Driver"} {
			Expect(c.postForm(update("ARP4", s, map[string]string{
				"Received in Depo": "2025-10-08T07:00:00Z", "Loaded by Driver": "2025-10-08T08:00:00Z"}[s]), nil).code).
				To(Equal(http.StatusOK))
		}
		// Reads are served from the cache, a moment behind the writes.
		Eventually(func(g Gomega) {
			view := c.getParcel("ARP4").json()
			g.Expect(view).To(HaveKeyWithValue("status", "InTransit"))
			var results []string
			for _, e := range view["events"].([]any) {
				results = append(results, e.(map[string]any)["result"].(string))
			}
			g.Expect(results).To(Equal([]string{"applied", "applied", "applied"}))
		}).Should(Succeed())
		Eventually(func() trackingv1alpha1.TrackingStatus { return c.parcel("ARP4").Status.Phase }).
			Should(Equal(trackingv1alpha1.StatusInTransit))
	})

	It("keeps each courier in its own namespace", func() {
		a, b := newCourier(), newCourier()
		Expect(a.postForm(update("ARP5", "Received in Depo", "2025-10-08T07:00:00Z"), nil).code).To(Equal(http.StatusOK))
		Eventually(func() int { return a.getParcel("ARP5").code }).Should(Equal(http.StatusOK))
		Expect(b.getParcel("ARP5").code).To(Equal(http.StatusNotFound), "b must not see a's parcel")
		Expect(b.postForm(update("ARP5", "In Transit", "2025-10-08T09:00:00Z"), nil).code).To(Equal(http.StatusConflict))
		Expect(a.parcel("ARP5").Spec.Events).To(HaveLen(1), "b's update must not touch a's parcel")
		Expect(b.parcel("ARP5").Spec.Events).To(HaveLen(1))
		Expect(a.getParcel("ARP5").json()).To(HaveKeyWithValue("status", "ReceivedInDepot"))
		Eventually(func() map[string]any { return b.getParcel("ARP5").json() }).Should(HaveKeyWithValue("status", "NotScanned"))
	})

	It("accepts a rotated token without a restart and refuses the old one", func() {
		c := newCourier()
		Expect(c.postForm(update("ARP6", "Received in Depo", "2025-10-08T07:00:00Z"), nil).code).To(Equal(http.StatusOK))
		old := c.token
		c.token = randomToken()
		secret := &corev1.Secret{}
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: c.ns, Name: "acme-token"}, secret)).To(Succeed())
		secret.Data[trackingv1alpha1.CourierTokenKey] = []byte(c.token)
		Expect(k8sClient.Update(ctx, secret)).To(Succeed())

		Eventually(func() int {
			return c.postForm(update("ARP6", "Loaded by Driver", "2025-10-08T08:00:00Z"), nil).code
		}).Should(Equal(http.StatusOK))
		stale := &courier{ns: c.ns, name: c.name, token: old}
		Expect(stale.postForm(update("ARP6", "In Transit", "2025-10-08T09:00:00Z"), nil).code).To(Equal(http.StatusUnauthorized))
	})

	It("answers 404 for an unknown parcel when the courier may not create parcels", func() {
		c := newCourier(func(obj *trackingv1alpha1.Courier) { obj.Spec.AllowParcelCreation = ptr.To(false) })
		a := c.postForm(update("ARP7", "Received in Depo", "2025-10-08T07:00:00Z"), nil)
		Expect(a.code).To(Equal(http.StatusNotFound), "%s", a.body)
		Expect(a.header.Get("Content-Type")).To(Equal("application/problem+json"))
		Expect(a.json()["detail"]).To(ContainSubstring(`no parcel with article ID "ARP7" exists`))
		Expect(c.parcelCount()).To(BeZero())

		Expect(k8sClient.Create(ctx, &trackingv1alpha1.Parcel{
			ObjectMeta: metav1.ObjectMeta{Namespace: c.ns, Name: "arp7"},
			Spec:       trackingv1alpha1.ParcelSpec{ArticleID: "ARP7"},
		})).To(Succeed())
		a = c.postForm(update("ARP7", "Received in Depo", "2025-10-08T07:00:00Z"), nil)
		Expect(a.code).To(Equal(http.StatusOK), "%s", a.body)
		Expect(c.parcel("ARP7").Spec.Events).To(HaveLen(1))
	})

	It("appends to a parcel created beforehand without events, also when the cache has not seen it", func() {
		c := newCourier(func(c *trackingv1alpha1.Courier) { c.Spec.AllowParcelCreation = ptr.To(true) })
		Expect(k8sClient.Create(ctx, &trackingv1alpha1.Parcel{
			ObjectMeta: metav1.ObjectMeta{Namespace: c.ns, Name: trackingv1alpha1.ParcelName("PRE1")},
			Spec:       trackingv1alpha1.ParcelSpec{ArticleID: "PRE1"},
		})).To(Succeed())
		a := c.postJSON(update("PRE1", "Received in Depo", "2025-10-08T07:00:00Z"))
		Expect(a.code).To(Equal(http.StatusOK), "%s", a.body)
		Expect(a.json()).To(HaveKeyWithValue("result", "applied"))
		Expect(c.parcel("PRE1").Spec.Events).To(HaveLen(1))
	})

	It("records 100 concurrent updates across 10 parcels exactly once each", func() {
		c := newCourier()
		var wg sync.WaitGroup
		codes := make(chan int, 100)
		for worker := range 10 {
			wg.Add(1)
			go func() {
				defer GinkgoRecover()
				defer wg.Done()
				for i := range 10 {
					articleID := fmt.Sprintf("ARPC%d", i)
					a := c.postForm(update(articleID, "In Transit", fmt.Sprintf("2025-10-08T09:%02d:00Z", worker),
						fmt.Sprintf(`"eventId":"w%d-p%d"`, worker, i)), nil)
					codes <- a.code
				}
			}()
		}
		wg.Wait()
		close(codes)
		for code := range codes {
			Expect(code).To(BeElementOf(http.StatusOK, http.StatusConflict))
		}
		for i := range 10 {
			p := c.parcel(fmt.Sprintf("ARPC%d", i))
			ids := map[string]int{}
			for _, e := range p.Spec.Events {
				ids[e.ID]++
			}
			Expect(ids).To(HaveLen(10), "parcel %d", i)
			for id, n := range ids {
				Expect(n).To(Equal(1), "event %s of parcel %d", id, i)
			}
		}
	})

	It("answers 503 with Retry-After when the object store is down, and records nothing", func() {
		c := newCourier()
		c.deliverable("ARP8")
		Expect(s3Server.Stop()).To(Succeed())
		restarted := false
		DeferCleanup(func() error {
			if restarted {
				return nil
			}
			return s3Server.Restart()
		})
		a := c.postForm(update("ARP8", "Delivered", "2025-10-08T10:15:00Z"), pdf(1024))
		Expect(a.code).To(Equal(http.StatusServiceUnavailable), "%s", a.body)
		Expect(a.header.Get("Retry-After")).To(Equal("5"))
		Expect(a.json()["detail"]).To(ContainSubstring("the object store cannot be reached"))
		Expect(c.parcel("ARP8").Spec.Events).To(HaveLen(3))
		Expect(s3Server.Restart()).To(Succeed())
		restarted = true
		Expect(c.postForm(update("ARP8", "Delivered", "2025-10-08T10:15:00Z"), pdf(1024)).code).To(Equal(http.StatusOK))
	})
})

var _ = Describe("refusing what cannot be recorded", func() {
	var c *courier
	BeforeEach(func() {
		c = newCourier(func(obj *trackingv1alpha1.Courier) {
			q := resource.MustParse("1Ki")
			obj.Spec.MaxProofOfDeliverySize = &q
		})
	})

	DescribeTable("answers a problem naming the field, and creates nothing",
		func(send func(c *courier) answer, code int, field, detail string) {
			a := send(c)
			Expect(a.code).To(Equal(code), "%s", a.body)
			Expect(a.header.Get("Content-Type")).To(Equal("application/problem+json"))
			p := a.json()
			Expect(p).To(HaveKeyWithValue("status", BeNumerically("==", code)))
			Expect(p["type"]).To(HavePrefix(problemTypeBase))
			Expect(fmt.Sprint(p)).To(ContainSubstring(detail))
			if field != "" {
				Expect(p["errors"]).To(ContainElement(HaveKeyWithValue("field", field)))
			}
			Expect(c.parcelCount()).To(BeZero())
		},
		Entry("no credentials", func(c *courier) answer {
			return do((*courier)(nil).request(http.MethodPost, UpdatePath, "application/json", strings.NewReader(seedExample)), UpdatePath)
		}, http.StatusUnauthorized, "", "Bearer"),
		Entry("a wrong token", func(c *courier) answer {
			return (&courier{token: randomToken()}).postJSON(seedExample)
		}, http.StatusUnauthorized, "", "not valid for any courier"),
		Entry("an unknown status", func(c *courier) answer {
			return c.postForm(update("ARP9", "Lost", ""), nil)
		}, http.StatusBadRequest, "track_status", "Received in Depo"),
		Entry("bad JSON", func(c *courier) answer {
			return c.postForm(`{"articleId":`, nil)
		}, http.StatusBadRequest, "form_data", ""),
		Entry("a missing form_data part", func(c *courier) answer {
			var buf bytes.Buffer
			mw := multipart.NewWriter(&buf)
			Expect(mw.WriteField("something", "else")).To(Succeed())
			Expect(mw.Close()).To(Succeed())
			return do(c.request(http.MethodPost, UpdatePath, mw.FormDataContentType(), &buf), UpdatePath)
		}, http.StatusBadRequest, "", "form_data"),
		Entry("a time in the future", func(c *courier) answer {
			return c.postForm(update("ARP9", "In Transit", "2099-01-01T00:00:00Z"), nil)
		}, http.StatusBadRequest, "track_datetime", ""),
		Entry("an invalid article ID", func(c *courier) answer {
			return c.postForm(update("ARP 9/x", "In Transit", ""), nil)
		}, http.StatusBadRequest, "articleId", ""),
		Entry("remarks over 1024 characters", func(c *courier) answer {
			return c.postForm(update("ARP9", "In Transit", "", fmt.Sprintf(`"remarks":%q`, strings.Repeat("x", 1025))), nil)
		}, http.StatusBadRequest, "remarks", "1024"),
		Entry("a form without form_data", func(c *courier) answer {
			return do(c.request(http.MethodPost, UpdatePath, "application/x-www-form-urlencoded", strings.NewReader("a=b")), UpdatePath)
		}, http.StatusBadRequest, "a", "the only field allowed is form_data"),
		Entry("a text/plain body", func(c *courier) answer {
			return do(c.request(http.MethodPost, UpdatePath, "text/plain", strings.NewReader("a=b")), UpdatePath)
		}, http.StatusUnsupportedMediaType, "Content-Type", "application/x-www-form-urlencoded"),
		Entry("an executable posing as a PDF", func(c *courier) answer {
			return c.postForm(update("ARP9", "Delivered", ""), append([]byte("MZ\x90\x00"), make([]byte, 600)...))
		}, http.StatusUnsupportedMediaType, "pod_file", "PDF"),
		Entry("a POD over the courier's 1Ki cap", func(c *courier) answer {
			return c.postForm(update("ARP9", "Delivered", ""), pdf(2048))
		}, http.StatusRequestEntityTooLarge, "pod_file", "1024"),
	)

	It("answers 404 for a parcel the courier does not have", func() {
		a := c.getParcel("ARP404")
		Expect(a.code).To(Equal(http.StatusNotFound))
		Expect(a.json()["detail"]).To(ContainSubstring(`"ARP404"`))
	})

	It("answers 401 to a reader without a valid token", func() {
		a := (&courier{token: randomToken()}).getParcel("ARP404")
		Expect(a.code).To(Equal(http.StatusUnauthorized))
		Expect(a.header.Get("WWW-Authenticate")).To(HavePrefix("Bearer"))
	})

	It("answers 400 for an article ID that cannot exist", func() {
		a := c.getParcel("ARP%20404")
		Expect(a.code).To(Equal(http.StatusBadRequest), "%s", a.body)
	})
})

var _ = Describe("GET "+OpenAPIPath, func() {
	It("serves the OpenAPI document without credentials", func() {
		a := do((*courier)(nil).request(http.MethodGet, OpenAPIPath, "", nil), OpenAPIPath)
		Expect(a.code).To(Equal(http.StatusOK))
		Expect(a.body).To(Equal(docs.CourierAPI))
	})
})

// checkDocumentedAnswers fails the suite when the OpenAPI document and the
// handler disagree: every answer a spec saw must be documented, and every
// documented answer must have been seen, save those no test can provoke
// from outside: a server fault (500), a write the API server refuses after
// the handler validated it (422), and an unreachable API server (503 on
// reads; this suite's API server never goes away).
func checkDocumentedAnswers() {
	GinkgoHelper()
	var doc struct {
		Paths map[string]map[string]struct {
			Responses map[string]any `json:"responses"`
		} `json:"paths"`
	}
	Expect(yaml.Unmarshal(docs.CourierAPI, &doc)).To(Succeed())
	documented := map[string]map[string]bool{}
	for path, ops := range doc.Paths {
		for method, op := range ops {
			key := strings.ToUpper(method) + " " + path
			documented[key] = map[string]bool{}
			for code := range op.Responses {
				documented[key][code] = true
			}
		}
	}
	unprovokable := map[string]map[string]bool{
		"POST " + UpdatePath: {"500": true, "422": true},
		"POST " + BatchPath:  {"500": true},
		"GET " + ParcelPath:  {"500": true, "503": true},
	}
	observed.Lock()
	defer observed.Unlock()
	Expect(sortedKeys(documented)).To(Equal(sortedKeys(observed.codes)), "operations documented vs exercised")
	for op, codes := range observed.codes {
		for code := range codes {
			Expect(documented[op]).To(HaveKey(code), "%s answered %s, which the document does not list", op, code)
		}
		for code := range documented[op] {
			if !unprovokable[op][code] {
				Expect(codes).To(HaveKey(code), "%s documents %s, which no spec provoked", op, code)
			}
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

var _ = Describe("Operations", func() {
	// get asks the test server for a path that is not part of the courier
	// API (so it is not checked against the OpenAPI document).
	get := func(path string) int {
		GinkgoHelper()
		resp, err := httpClient.Get(apiURL + path)
		Expect(err).NotTo(HaveOccurred())
		_ = resp.Body.Close()
		return resp.StatusCode
	}

	It("is alive, and ready only while the cache has synced and the bucket answers", func() {
		Expect(get(HealthzPath)).To(Equal(http.StatusOK))
		Expect(get(ReadyzPath)).To(Equal(http.StatusOK))

		Expect(s3Server.Stop()).To(Succeed())
		restarted := false
		DeferCleanup(func() error {
			if restarted {
				return nil
			}
			return s3Server.Restart()
		})
		Expect(get(ReadyzPath)).To(Equal(http.StatusServiceUnavailable))
		Expect(get(HealthzPath)).To(Equal(http.StatusOK), "an unreachable store is not a reason to restart")
		Expect(s3Server.Restart()).To(Succeed())
		restarted = true
		Expect(get(ReadyzPath)).To(Equal(http.StatusOK))
	})

	It("finishes a request in flight when it is shut down, then stops listening", func() {
		c := newCourier()
		l, err := net.Listen("tcp", "127.0.0.1:0")
		Expect(err).NotTo(HaveOccurred())
		addr := l.Addr().String()
		Expect(l.Close()).To(Succeed())
		own := *server
		own.BindAddress = addr
		serverCtx, stop := context.WithCancel(ctx)
		defer stop()
		stopped := make(chan error, 1)
		go func() { stopped <- own.Start(serverCtx) }()
		Eventually(func() error {
			resp, err := httpClient.Get("http://" + addr + HealthzPath)
			if err == nil {
				_ = resp.Body.Close()
			}
			return err
		}).Should(Succeed())

		// The request waits for 100 Continue, which the server sends once the
		// handler reads the body: from then on it is in flight. Only then is
		// the server shut down, and only then is the body sent.
		body := update("ARP11", "Received in Depo", "2025-10-08T07:00:00Z")
		pr, pw := io.Pipe()
		inFlight := make(chan struct{})
		req, err := http.NewRequestWithContext(
			httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{Got100Continue: func() { close(inFlight) }}),
			http.MethodPost, "http://"+addr+UpdatePath, pr)
		Expect(err).NotTo(HaveOccurred())
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+c.token)
		req.Header.Set("Expect", "100-continue")
		waiting := &http.Client{Transport: &http.Transport{ExpectContinueTimeout: time.Minute}}
		answered := make(chan *http.Response, 1)
		go func() {
			defer GinkgoRecover()
			resp, err := waiting.Do(req)
			Expect(err).NotTo(HaveOccurred())
			answered <- resp
		}()
		Eventually(inFlight).Should(BeClosed())
		stop()
		Consistently(stopped, "300ms").ShouldNot(Receive(), "Start must wait for the request in flight")
		_, err = pw.Write([]byte(body))
		Expect(err).NotTo(HaveOccurred())
		Expect(pw.Close()).To(Succeed())

		var resp *http.Response
		Eventually(answered).Should(Receive(&resp))
		defer func() { _ = resp.Body.Close() }()
		Expect(resp.StatusCode).To(Equal(http.StatusOK))
		Eventually(stopped).Should(Receive(BeNil()))
		_, err = httpClient.Get("http://" + addr + HealthzPath)
		Expect(err).To(HaveOccurred(), "nothing listens after shutdown")
		Expect(c.parcel("ARP11").Spec.Events).To(HaveLen(1))
	})
})
