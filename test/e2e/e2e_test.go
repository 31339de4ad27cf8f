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
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
	"github.com/parcelops/parcel-operator/internal/managerproc"
	"github.com/parcelops/parcel-operator/internal/podstore"
)

// courierManifest is what a platform team applies for a courier.
const courierManifest = `
apiVersion: v1
kind: Namespace
metadata:
  name: acme
---
apiVersion: v1
kind: Secret
metadata:
  name: acme-token
  namespace: acme
  labels:
    tracking.parcelops.io/courier-credentials: "true"
stringData:
  token: e2e-token-0123456789abcdef
---
apiVersion: tracking.parcelops.io/v1alpha1
kind: Courier
metadata:
  name: acme
  namespace: acme
spec:
  displayName: ACME Logistics
  secretRef:
    name: acme-token
`

const courierToken = "e2e-token-0123456789abcdef"

// seedParcel is the name of the Parcel of article ARP1000052447.
const seedParcel = "arp1000052447"

// scan is one update a courier posts.
type scan struct {
	articleID, status, datetime string
	pod                         []byte
}

func (s scan) formData() string {
	return fmt.Sprintf(`{"articleId":%q,"track_status":%q,"track_datetime":%q,"remarks":"e2e"}`, s.articleID, s.status, s.datetime)
}

// post sends one scan as multipart and returns the status code and body;
// err is a transport error (the manager is down).
func post(baseURL string, s scan) (int, map[string]any, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if err := mw.WriteField("form_data", s.formData()); err != nil {
		return 0, nil, err
	}
	if s.pod != nil {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="pod_file"; filename="pod.pdf"`)
		h.Set("Content-Type", "application/pdf")
		part, err := mw.CreatePart(h)
		if err != nil {
			return 0, nil, err
		}
		if _, err := part.Write(s.pod); err != nil {
			return 0, nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return 0, nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, baseURL+"/api/v1/webhook/parcel-status", &buf)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+courierToken)
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, err
	}
	body := map[string]any{}
	_ = json.Unmarshal(raw, &body)
	return resp.StatusCode, body, nil
}

func pdf(size int) []byte {
	b := make([]byte, size)
	_, _ = rand.Read(b)
	return append([]byte("%PDF-1.7\n"), b...)
}

// life is a parcel's seed flow, ending with a delivery and its POD.
func life(articleID string) []scan {
	return []scan{
		{articleID, "Received in Depo", "2025-10-08T07:30:00Z", nil},
		{articleID, "Loaded by Driver", "2025-10-08T08:05:00Z", nil},
		{articleID, "In Transit", "2025-10-08T08:20:00Z", nil},
		{articleID, "Delivered", "2025-10-08T10:15:00Z", pdf(32 << 10)},
	}
}

var _ = Describe("parcel-operator, installed and run as a user would", Ordered, func() {
	var port int

	It("installs: the CRDs for real, every manifest of config/default accepted by the API server", func() {
		kubectl(nil, "apply", "--server-side", "-k", "config/crd")
		rendered := kubectl(nil, "kustomize", "config/default")
		kubectl(nil, "create", "namespace", "parcel-operator-system")
		out := kubectl([]byte(rendered), "apply", "--server-side", "--dry-run=server", "-f", "-")
		for _, kind := range []string{
			"customresourcedefinition.apiextensions.k8s.io/parcels.tracking.parcelops.io",
			"customresourcedefinition.apiextensions.k8s.io/couriers.tracking.parcelops.io",
			"clusterrole.rbac.authorization.k8s.io/parcel-operator-manager-role",
			"deployment.apps/parcel-operator-controller-manager",
		} {
			Expect(out).To(ContainSubstring(kind+" serverside-applied (server dry run)"), out)
		}
		Expect(strings.Count(out, "(server dry run)")).To(Equal(strings.Count(rendered, "\n---\n")+1), out)
	})

	It("runs the manager with only the rights config/rbac grants its ServiceAccount", func() {
		out, err := kubectlWith(managerKubeconfig, nil, "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}")
		Expect(err).NotTo(HaveOccurred())
		Expect(out).To(Equal("system:serviceaccount:" + serviceAccountNamespace + ":" + serviceAccountName))
		out, err = kubectlWith(managerKubeconfig, nil, "auth", "can-i", "patch", "parcels.tracking.parcelops.io", "--subresource=status")
		Expect(err).NotTo(HaveOccurred(), "config/rbac grants it")
		Expect(out).To(Equal("yes\n"))
		// The API server authorizes with RBAC: what no role grants is refused.
		out, err = kubectlWith(managerKubeconfig, nil, "auth", "can-i", "delete", "secrets")
		Expect(err).To(HaveOccurred())
		Expect(out).To(Equal("no\n"))
	})

	It("takes a courier's seed flow over HTTP to Delivered, with its POD stored in S3", func() {
		var err error
		port, err = managerproc.FreePort(ctx)
		Expect(err).NotTo(HaveOccurred())
		manager = startManager(port)
		kubectl([]byte(courierManifest), "apply", "--server-side", "-f", "-")
		kubectl(nil, "-n", "acme", "wait", "courier/acme", "--for=condition=Ready", "--timeout=60s")

		scans := life("ARP1000052447")
		results := make([]string, 0, len(scans))
		for _, s := range scans {
			code, body, err := post(manager.webhookURL, s)
			Expect(err).NotTo(HaveOccurred())
			Expect(code).To(Equal(http.StatusOK), "%v", body)
			results = append(results, body["result"].(string))
		}
		Expect(results).To(HaveEach("applied"))
		Expect(results).To(HaveLen(4))

		Eventually(func(g Gomega) {
			lines := strings.Split(strings.TrimSpace(kubectl(nil, "-n", "acme", "get", "pcl")), "\n")
			g.Expect(lines).To(HaveLen(2))
			g.Expect(strings.Fields(lines[0])).To(Equal([]string{"NAME", "ARTICLE", "STATUS", "LAST", "EVENT", "POD", "OVERDUE", "AGE"}))
			row := strings.Fields(lines[1])
			g.Expect(row[:3]).To(Equal([]string{seedParcel, "ARP1000052447", "Delivered"}))
			g.Expect(row[4]).To(Equal("Stored"))
		}).WithTimeout(30 * time.Second).Should(Succeed())

		events := kubectl(nil, "-n", "acme", "get", "events.events.k8s.io",
			"-o", `jsonpath={range .items[*]}{.reason}: {.note}{"\n"}{end}`)
		// One StatusChanged per reconcile names the chain it applied; how
		// the four updates fell into reconciles is up to the timing.
		var transitions []string
		for _, line := range strings.Split(events, "\n") {
			note, ok := strings.CutPrefix(line, "StatusChanged: ")
			if !ok {
				continue
			}
			for _, chain := range strings.Split(note, "; ") {
				names := strings.Split(chain, " -> ")
				for i := 1; i < len(names); i++ {
					transitions = append(transitions, names[i-1]+" -> "+names[i])
				}
			}
		}
		Expect(transitions).To(ConsistOf("Not Scanned -> Received in Depot", "Received in Depot -> Loaded by Driver",
			"Loaded by Driver -> In Transit", "In Transit -> Delivered"), events)
		Expect(events).To(ContainSubstring("ProofOfDeliveryStored: event "))

		p := &trackingv1alpha1.Parcel{}
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: "acme", Name: seedParcel}, p)).To(Succeed())
		delivered := p.Spec.Events[3]
		Expect(store.Exists(ctx, podstore.FinalKey("acme", p.Name, delivered.ID, trackingv1alpha1.ContentTypePDF))).To(BeTrue())
		Expect(store.Exists(ctx, delivered.ProofOfDelivery.StagingKey)).To(BeFalse())
	})

	It("reports a Parcel applied from a manifest and driven to Delivered as Current to kstatus (Flux's health model)", func() {
		kubectl(nil, "create", "namespace", "gitops")
		kubectl(nil, "-n", "gitops", "apply", "--server-side", "-f", "config/samples/tracking_v1alpha1_parcel.yaml")
		kubectl(nil, "-n", "gitops", "patch", "parcel/arp1000052447", "--type=json", "-p",
			`[{"op":"add","path":"/spec/events/-","value":{"id":"sample-delivered","status":"Delivered",`+
				`"time":"2025-10-08T10:15:00Z","remarks":"Delivered successfully","source":"ops"}}]`)
		kubectl(nil, "-n", "gitops", "wait", "parcel/arp1000052447",
			"--for=jsonpath={.status.phase}=Delivered", "--timeout=60s")
		Eventually(func(g Gomega) {
			u := &unstructured.Unstructured{}
			u.SetGroupVersionKind(trackingv1alpha1.GroupVersion.WithKind("Parcel"))
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: "gitops", Name: seedParcel}, u)).To(Succeed())
			res, err := status.Compute(u)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(res.Status).To(Equal(status.CurrentStatus), res.Message)
		}).Should(Succeed())
	})

	It("loses nothing it acknowledged when the manager is killed mid-run and started again", func() {
		const parcels = 8
		var (
			mu       sync.Mutex
			acked    = map[string]map[string]bool{} // article ID -> event ids answered 2xx/409
			url      = manager.webhookURL
			failures int
		)
		done := make(chan struct{})
		go func() {
			defer GinkgoRecover()
			defer close(done)
			for step := range 4 {
				for i := range parcels {
					s := life(fmt.Sprintf("ARPK%03d", i))[step]
					for {
						code, body, err := post(url, s)
						if err == nil && (code == http.StatusOK || code == http.StatusConflict) {
							mu.Lock()
							if acked[s.articleID] == nil {
								acked[s.articleID] = map[string]bool{}
							}
							acked[s.articleID][body["eventId"].(string)] = true
							mu.Unlock()
							break
						}
						Expect(code).NotTo(Equal(http.StatusInternalServerError), "%v", body)
						mu.Lock()
						failures++
						mu.Unlock()
						time.Sleep(100 * time.Millisecond)
					}
				}
			}
		}()

		Eventually(func() int {
			mu.Lock()
			defer mu.Unlock()
			n := 0
			for _, ids := range acked {
				n += len(ids)
			}
			return n
		}).WithTimeout(time.Minute).Should(BeNumerically(">=", parcels+2))
		manager.Kill()
		manager = startManager(port)
		Eventually(done).WithTimeout(2 * time.Minute).Should(BeClosed())
		GinkgoWriter.Printf("posts that failed while the manager was down and were retried: %d\n", failures)

		for articleID, ids := range acked {
			key := client.ObjectKey{Namespace: "acme", Name: trackingv1alpha1.ParcelName(articleID)}
			Eventually(func(g Gomega) {
				p := &trackingv1alpha1.Parcel{}
				g.Expect(k8sClient.Get(ctx, key, p)).To(Succeed())
				recorded := map[string]bool{}
				for _, e := range p.Spec.Events {
					recorded[e.ID] = true
				}
				for id := range ids {
					g.Expect(recorded).To(HaveKey(id), "acknowledged event %s of %s", id, articleID)
				}
				fold := trackingv1alpha1.Fold(p.Spec.Events)
				g.Expect(p.Status.ObservedGeneration).To(Equal(p.Generation))
				g.Expect(p.Status.Phase).To(Equal(fold.Phase))
				g.Expect(p.Status.Phase).To(Equal(trackingv1alpha1.StatusDelivered))
				g.Expect(p.Status.ProofOfDelivery).NotTo(BeEmpty())
				for _, e := range p.Spec.Events {
					if e.ProofOfDelivery != nil {
						staged, err := store.Exists(ctx, e.ProofOfDelivery.StagingKey)
						g.Expect(err).NotTo(HaveOccurred())
						g.Expect(staged).To(BeFalse(), "no staged object is left behind")
					}
				}
			}).WithTimeout(time.Minute).Should(Succeed())
		}
		Expect(acked).To(HaveLen(parcels))
	})
})
