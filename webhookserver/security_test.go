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
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr/funcr"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
	"github.com/parcelops/parcel-operator/internal/signature"
)

// signedRequest is a request from c signed at t with keys, over body.
func (c *courier) signedRequest(method, path, contentType, body string, t time.Time, keys ...[]byte) *http.Request {
	GinkgoHelper()
	req := (&courier{ns: c.ns, name: c.name, token: c.token}).request(method, path, contentType, strings.NewReader(body))
	req.Header.Set(signature.Header, signature.Sign(t.Unix(), []byte(body), keys...))
	return req
}

// setSecret replaces the data of c's Secret and waits until the courier's
// Ready message contains want.
func (c *courier) setSecret(data map[string]string, want string) {
	GinkgoHelper()
	secret := &corev1.Secret{}
	Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: c.ns, Name: "acme-token"}, secret)).To(Succeed())
	secret.Data = nil
	secret.StringData = data
	Expect(k8sClient.Update(ctx, secret)).To(Succeed())
	Eventually(c.readiness).Should(HaveField("Message", ContainSubstring(want)))
}

var _ = Describe("Signed requests", func() {
	It("records a signed update, reads back with a signed GET, and refuses a replay of either", func() {
		c := newSigningCourier()
		body := update("SIG1", "Received in Depo", "2025-10-08T07:00:00Z")
		post := c.signedRequest(http.MethodPost, UpdatePath, "application/json", body, time.Now(), c.hmacKey)
		replay := post.Clone(ctx)
		replay.Body = io.NopCloser(strings.NewReader(body))

		a := do(post, UpdatePath)
		Expect(a.code).To(Equal(http.StatusOK), "%s", a.body)
		Expect(a.json()["result"]).To(Equal("applied"))
		a = do(replay, UpdatePath)
		Expect(a.code).To(Equal(http.StatusUnauthorized))
		Expect(a.json()["detail"]).To(ContainSubstring("already used"))

		// Reads come from the cache, a moment behind the write: each try is
		// signed afresh, and the one that read the parcel is replayed.
		var again *http.Request
		Eventually(func() int {
			get := c.signedRequest(http.MethodGet, "/api/v1/parcels/SIG1", "", "", time.Now(), c.hmacKey)
			again = get.Clone(ctx)
			return do(get, ParcelPath).code
		}).Should(Equal(http.StatusOK))
		Expect(do(again, ParcelPath).code).To(Equal(http.StatusUnauthorized))
		Expect(c.parcel("SIG1").Spec.Events).To(HaveLen(1))
	})

	DescribeTable("refuses, with 401 and the reason, and records nothing",
		func(sign func(c *courier, body string) string, detail string) {
			c := newSigningCourier()
			body := update("SIG2", "Received in Depo", "2025-10-08T07:00:00Z")
			req := (&courier{ns: c.ns, name: c.name, token: c.token}).request(http.MethodPost, UpdatePath,
				"application/json", strings.NewReader(body))
			if h := sign(c, body); h != "" {
				req.Header.Set(signature.Header, h)
			}
			a := do(req, UpdatePath)
			Expect(a.code).To(Equal(http.StatusUnauthorized), "%s", a.body)
			Expect(a.header.Get("Content-Type")).To(Equal("application/problem+json"))
			Expect(a.json()["detail"]).To(ContainSubstring(detail))
			Expect(string(a.body)).NotTo(ContainSubstring(string(c.hmacKey)))
			Expect(c.parcelCount()).To(BeZero())
		},
		Entry("no signature", func(*courier, string) string { return "" }, "not signed"),
		Entry("five minutes and a second old", func(c *courier, body string) string {
			return signature.Sign(time.Now().Add(-5*time.Minute-2*time.Second).Unix(), []byte(body), c.hmacKey)
		}, "too old"),
		Entry("from the future", func(c *courier, body string) string {
			return signature.Sign(time.Now().Add(5*time.Minute+2*time.Second).Unix(), []byte(body), c.hmacKey)
		}, "in the future"),
		Entry("over another body", func(c *courier, body string) string {
			return signature.Sign(time.Now().Unix(), []byte(body+" "), c.hmacKey)
		}, "no signature"),
		Entry("with another key", func(_ *courier, body string) string {
			return signature.Sign(time.Now().Unix(), []byte(body), []byte(randomToken()))
		}, "no signature"),
		Entry("malformed", func(*courier, string) string { return "t=now,v1=abc" }, "malformed"),
	)

	It("accepts both keys during a rotation, then only the new one", func() {
		c := newSigningCourier()
		old, fresh := c.hmacKey, []byte(randomToken())
		c.setSecret(map[string]string{
			trackingv1alpha1.CourierTokenKey:        c.token,
			trackingv1alpha1.CourierHMACKey:         string(fresh),
			trackingv1alpha1.CourierHMACKeyPrevious: string(old),
		}, "during the rotation")
		for i, key := range [][]byte{old, fresh} {
			body := update("ROT1", "Received in Depo", fmt.Sprintf("2025-10-08T07:0%d:00Z", i))
			a := do(c.signedRequest(http.MethodPost, UpdatePath, "application/json", body, time.Now(), key), UpdatePath)
			Expect(a.code).To(Equal(http.StatusOK), "key %d: %s", i, a.body)
		}
		both := update("ROT1", "Received in Depo", "2025-10-08T07:05:00Z")
		Expect(do(c.signedRequest(http.MethodPost, UpdatePath, "application/json", both, time.Now(), old, fresh),
			UpdatePath).code).To(Equal(http.StatusOK))

		c.setSecret(map[string]string{
			trackingv1alpha1.CourierTokenKey: c.token,
			trackingv1alpha1.CourierHMACKey:  string(fresh),
		}, fmt.Sprintf("signed with %q", trackingv1alpha1.CourierHMACKey))
		body := update("ROT1", "Received in Depo", "2025-10-08T07:06:00Z")
		Expect(do(c.signedRequest(http.MethodPost, UpdatePath, "application/json", body, time.Now(), old),
			UpdatePath).code).To(Equal(http.StatusUnauthorized))
		Expect(do(c.signedRequest(http.MethodPost, UpdatePath, "application/json", body, time.Now(), fresh),
			UpdatePath).code).To(Equal(http.StatusOK))
		Expect(c.parcel("ROT1").Spec.Events).To(HaveLen(4))
	})

	DescribeTable("refuses every request of a courier whose keys are unusable, and says why in its status",
		func(extra map[string]string, requireSignature bool, reason string) {
			c := createCourier(extra, func(c *trackingv1alpha1.Courier) { c.Spec.RequireSignature = requireSignature })
			Eventually(c.readiness).Should(And(
				HaveField("Status", metav1.ConditionFalse), HaveField("Reason", reason)))
			body := update("SIG3", "Received in Depo", "2025-10-08T07:00:00Z")
			a := c.postJSON(body)
			Expect(a.code).To(Equal(http.StatusUnauthorized), "%s", a.body)
			key := []byte(extra[trackingv1alpha1.CourierHMACKey])
			a = do(c.signedRequest(http.MethodPost, UpdatePath, "application/json", body, time.Now(), key), UpdatePath)
			Expect(a.code).To(Equal(http.StatusUnauthorized), "%s", a.body)
			Expect(c.parcelCount()).To(BeZero())
		},
		Entry("requireSignature without an hmacKey", map[string]string{}, true, trackingv1alpha1.ReasonHMACKeyMissing),
		Entry("an hmacKeyPrevious without an hmacKey",
			map[string]string{trackingv1alpha1.CourierHMACKeyPrevious: strings.Repeat("k", 32)}, false,
			trackingv1alpha1.ReasonHMACKeyMissing),
		Entry("an hmacKey of 31 bytes",
			map[string]string{trackingv1alpha1.CourierHMACKey: strings.Repeat("k", 31)}, false,
			trackingv1alpha1.ReasonHMACKeyTooShort),
		Entry("an hmacKeyPrevious of 31 bytes", map[string]string{
			trackingv1alpha1.CourierHMACKey:         strings.Repeat("k", 32),
			trackingv1alpha1.CourierHMACKeyPrevious: strings.Repeat("p", 31),
		}, false, trackingv1alpha1.ReasonHMACKeyTooShort),
	)
})

// serveOwn serves a copy of the suite's server, changed by mutate, on a
// port of its own until the spec ends, and returns its host:port.
func serveOwn(mutate func(*Server)) string {
	GinkgoHelper()
	own := *server
	mutate(&own)
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	serverCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- own.Serve(serverCtx, ln) }()
	DeferCleanup(func() {
		stop()
		Eventually(done).Should(Receive(BeNil()))
	})
	return ln.Addr().String()
}

// stagedUploads lists the uploads staged in namespace.
func stagedUploads(namespace string) []string {
	GinkgoHelper()
	all, err := store.ListStaged(ctx, time.Now().Add(time.Hour))
	Expect(err).NotTo(HaveOccurred())
	var keys []string
	for _, o := range all {
		if o.Namespace == namespace {
			keys = append(keys, o.Key)
		}
	}
	return keys
}

var _ = Describe("Uploads of refused updates", func() {
	It("are deleted, while a recorded upload is stored", func() {
		c := newSigningCourier()
		c.deliverable("DSC1")
		recorded := pdf(4096)
		body, contentType := formBody(update("DSC1", "Delivered", "2025-10-08T11:00:00Z", `"eventId":"dsc-pod"`), recorded)
		a := do(c.request(http.MethodPost, UpdatePath, contentType, bytes.NewReader(body)), UpdatePath)
		Expect(a.code).To(Equal(http.StatusOK), "%s", a.body)
		upload := c.parcel("DSC1").Spec.Events[3].ProofOfDelivery

		// Two more deliveries with files: a forged signature, then an extra
		// part. Each is refused after its file was staged.
		forged, contentType := formBody(update("DSC1", "Delivered", "2025-10-08T11:00:00Z", `"eventId":"dsc-pod2"`), pdf(4096))
		req := (&courier{ns: c.ns, name: c.name, token: c.token}).request(http.MethodPost, UpdatePath, contentType,
			bytes.NewReader(forged))
		req.Header.Set(signature.Header, signature.Sign(time.Now().Unix(), append(forged, 'x'), c.hmacKey))
		Expect(do(req, UpdatePath).code).To(Equal(http.StatusUnauthorized))
		extra, contentType := formBody(update("DSC1", "Delivered", "2025-10-08T11:00:00Z", `"eventId":"dsc-pod3"`), pdf(4096),
			"signature")
		Expect(do(c.request(http.MethodPost, UpdatePath, contentType, bytes.NewReader(extra)), UpdatePath).code).
			To(Equal(http.StatusBadRequest))

		Eventually(func() []string { return stagedUploads(c.ns) }).Should(BeEmpty(),
			"the refused uploads are gone, and the recorded one was moved")
		Eventually(func(g Gomega) {
			p := c.parcel("DSC1")
			g.Expect(p.Status.ProofOfDelivery).To(HaveLen(1))
			g.Expect(p.Status.ProofOfDelivery[0].SHA256).To(Equal(upload.SHA256))
		}).Should(Succeed())
		Expect(c.parcel("DSC1").Spec.Events).To(HaveLen(4))
	})
})

var _ = Describe("Rate limits", func() {
	It("answers a courier past its burst 429 with Retry-After, while another courier is served", func() {
		limited := newCourier(func(c *trackingv1alpha1.Courier) {
			c.Spec.RateLimit = &trackingv1alpha1.RateLimit{RequestsPerSecond: 1, Burst: 3}
		})
		other := newCourier()
		for i := range 3 {
			a := limited.postJSON(update("RL1", "Received in Depo", fmt.Sprintf("2025-10-08T07:0%d:00Z", i)))
			Expect(a.code).To(Equal(http.StatusOK), "request %d: %s", i, a.body)
		}
		a := limited.postJSON(update("RL1", "Received in Depo", "2025-10-08T07:09:00Z"))
		Expect(a.code).To(Equal(http.StatusTooManyRequests), "%s", a.body)
		Expect(a.header.Get("Retry-After")).To(Equal("1"))
		Expect(a.json()["detail"]).To(ContainSubstring("1 requests per second (bursts of 3)"))
		Expect(other.postJSON(update("RL1", "Received in Depo", "2025-10-08T07:00:00Z")).code).To(Equal(http.StatusOK))
		Expect(limited.parcel("RL1").Spec.Events).To(HaveLen(3), "the refused update is not recorded")

		// A token comes back after a second.
		Eventually(func() int {
			return limited.postJSON(update("RL1", "Received in Depo", "2025-10-08T07:09:00Z")).code
		}).WithPolling(250 * time.Millisecond).Should(Equal(http.StatusOK))
	})

	It("locks out an address after its failed authentications, before looking at credentials", func() {
		c := newCourier()
		opts := DefaultGuardOptions()
		opts.UnauthenticatedRate = 0.01
		opts.UnauthenticatedBurst = 3
		base := "http://" + serveOwn(func(s *Server) { s.Guard = NewGuard(opts) })
		stranger := &courier{token: randomToken()}
		for range 3 {
			a := do(stranger.requestTo(base, http.MethodGet, "/api/v1/parcels/X1", "", nil), ParcelPath)
			Expect(a.code).To(Equal(http.StatusUnauthorized))
		}
		a := do(stranger.requestTo(base, http.MethodGet, "/api/v1/parcels/X1", "", nil), ParcelPath)
		Expect(a.code).To(Equal(http.StatusTooManyRequests))
		retry, err := strconv.Atoi(a.header.Get("Retry-After"))
		Expect(err).NotTo(HaveOccurred())
		Expect(retry).To(BeNumerically(">", 60), "one failure back every 100 s")
		Expect(do(c.requestTo(base, http.MethodGet, "/api/v1/parcels/X1", "", nil), ParcelPath).code).
			To(Equal(http.StatusTooManyRequests), "from a locked-out address even a valid token waits")
		Expect(c.getParcel("X1").code).To(Equal(http.StatusNotFound), "the lock-out is per server and address")
	})

	It("answers 429 when a courier holds its share of the write slots", func() {
		c := newCourier()
		c.deliverable("WS1")
		opts := suiteGuardOptions()
		opts.MaxConcurrentWrites = 2
		opts.WriteWait = 50 * time.Millisecond
		guard := NewGuard(opts)
		base := "http://" + serveOwn(func(s *Server) { s.Guard = guard })
		release, err := guard.acquireWrite(ctx, courierObject(c))
		Expect(err).NotTo(HaveOccurred())
		a := do(c.requestTo(base, http.MethodPost, UpdatePath, "application/json",
			strings.NewReader(update("WS1", "Delivered", "2025-10-08T11:00:00Z"))), UpdatePath)
		Expect(a.code).To(Equal(http.StatusTooManyRequests), "%s", a.body)
		Expect(a.header.Get("Retry-After")).To(Equal("1"))
		release()
		a = do(c.requestTo(base, http.MethodPost, UpdatePath, "application/json",
			strings.NewReader(update("WS1", "Delivered", "2025-10-08T11:00:00Z"))), UpdatePath)
		Expect(a.code).To(Equal(http.StatusOK), "%s", a.body)
	})
})

// courierObject reads c's Courier.
func courierObject(c *courier) *trackingv1alpha1.Courier {
	GinkgoHelper()
	obj := &trackingv1alpha1.Courier{}
	Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: c.ns, Name: c.name}, obj)).To(Succeed())
	return obj
}

// writeCert writes a fresh self-signed certificate for 127.0.0.1 to dir
// and returns it.
func writeCert(dir, name string) *x509.Certificate {
	GinkgoHelper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	Expect(err).NotTo(HaveOccurred())
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	Expect(err).NotTo(HaveOccurred())
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: name},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-time.Minute),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	Expect(err).NotTo(HaveOccurred())
	keyDER, err := x509.MarshalECPrivateKey(key)
	Expect(err).NotTo(HaveOccurred())
	// Written beside, then renamed into place, as a kubelet updates a
	// mounted Secret: a reader never sees half a file.
	for file, block := range map[string]*pem.Block{
		CertName: {Type: "CERTIFICATE", Bytes: der},
		KeyName:  {Type: "EC PRIVATE KEY", Bytes: keyDER},
	} {
		tmp := filepath.Join(dir, "."+file)
		Expect(os.WriteFile(tmp, pem.EncodeToMemory(block), 0o600)).To(Succeed())
		Expect(os.Rename(tmp, filepath.Join(dir, file))).To(Succeed())
	}
	cert, err := x509.ParseCertificate(der)
	Expect(err).NotTo(HaveOccurred())
	return cert
}

var _ = Describe("TLS", func() {
	It("serves HTTPS, TLS 1.2 at least, HTTP/1.1 only, and new connections get a renewed certificate", func() {
		dir := GinkgoT().TempDir()
		first := writeCert(dir, "first")
		addr := serveOwn(func(s *Server) { s.CertDir = dir })
		pool := x509.NewCertPool()
		pool.AddCert(first)
		handshake := func(cfg *tls.Config) (*x509.Certificate, string, error) {
			conn, err := tls.Dial("tcp", addr, cfg)
			if err != nil {
				return nil, "", err
			}
			defer func() { _ = conn.Close() }()
			state := conn.ConnectionState()
			return state.PeerCertificates[0], state.NegotiatedProtocol, nil
		}

		got, proto, err := handshake(&tls.Config{RootCAs: pool, NextProtos: []string{"h2", "http/1.1"}})
		Expect(err).NotTo(HaveOccurred())
		Expect(got.Subject.CommonName).To(Equal("first"))
		Expect(proto).NotTo(Equal("h2"), "HTTP/2 is off unless enabled")
		//nolint:gosec // a client offering at most TLS 1.1, to see the server refuse it
		_, _, err = handshake(&tls.Config{RootCAs: pool, MaxVersion: tls.VersionTLS11})
		Expect(err).To(HaveOccurred(), "TLS 1.1 is refused")

		https := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
		resp, err := https.Get("https://" + addr + HealthzPath)
		Expect(err).NotTo(HaveOccurred())
		_ = resp.Body.Close()
		Expect(resp.StatusCode).To(Equal(http.StatusOK))

		second := writeCert(dir, "second")
		pool.AddCert(second)
		Eventually(func() (string, error) {
			got, _, err := handshake(&tls.Config{RootCAs: pool})
			if err != nil {
				return "", err
			}
			return got.Subject.CommonName, nil
		}).WithTimeout(30 * time.Second).Should(Equal("second"))
	})

	It("refuses to start without a readable certificate", func() {
		own := *server
		own.CertDir = GinkgoT().TempDir()
		ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", "127.0.0.1:0")
		Expect(err).NotTo(HaveOccurred())
		Expect(own.Serve(ctx, ln)).To(MatchError(ContainSubstring("loading the certificate")))
	})
})

var _ = Describe("Metrics", func() {
	It("are labelled by courier, code, result and limit only: never an article ID, a token or a signature", func() {
		c := newSigningCourier()
		body := update("METRIC-ARTICLE-1", "Received in Depo", "2025-10-08T07:00:00Z")
		req := c.request(http.MethodPost, UpdatePath, "application/json", strings.NewReader(body))
		header := req.Header.Get(signature.Header)
		Expect(do(req, UpdatePath).code).To(Equal(http.StatusOK))
		forged := (&courier{token: c.token}).request(http.MethodGet, "/api/v1/parcels/METRIC-ARTICLE-1", "", nil)
		forged.Header.Set(signature.Header, header)
		Expect(do(forged, ParcelPath).code).To(Equal(http.StatusUnauthorized))

		families, err := metrics.Registry.Gather()
		Expect(err).NotTo(HaveOccurred())
		allowed := map[string]bool{"courier": true, "code": true, "result": true, "limit": true}
		seen := 0
		for _, f := range families {
			if !strings.HasPrefix(f.GetName(), "parcel_webhook_") {
				continue
			}
			for _, m := range f.GetMetric() {
				for _, l := range m.GetLabel() {
					seen++
					Expect(allowed).To(HaveKey(l.GetName()), "metric %s", f.GetName())
					for _, secret := range []string{"METRIC-ARTICLE-1", c.token, string(c.hmacKey), header} {
						Expect(l.GetValue()).NotTo(ContainSubstring(secret), "metric %s", f.GetName())
					}
				}
			}
		}
		Expect(seen).To(BeNumerically(">", 0), "the webhook's metrics were gathered")
	})
})

var _ = Describe("Secrets", func() {
	It("never writes a token, a signature or file contents to the log, even at the most verbose level", func() {
		var mu sync.Mutex
		var logged bytes.Buffer
		sink := funcr.New(func(prefix, args string) {
			mu.Lock()
			defer mu.Unlock()
			logged.WriteString(prefix + " " + args + "\n")
		}, funcr.Options{Verbosity: 10})
		base := "http://" + serveOwn(func(s *Server) { s.Log = sink })

		c := newSigningCourier()
		file := pdf(64)
		body := update("LEAK1", "Delivered", "2025-10-08T11:00:00Z")
		stale := time.Now().Add(-time.Hour)
		header := signature.Sign(stale.Unix(), []byte(body), c.hmacKey)
		req := (&courier{token: c.token}).requestTo(base, http.MethodPost, UpdatePath, "application/json",
			strings.NewReader(body))
		req.Header.Set(signature.Header, header)
		Expect(do(req, UpdatePath).code).To(Equal(http.StatusUnauthorized))
		wrong := &courier{token: c.token + "x"}
		Expect(do(wrong.requestTo(base, http.MethodGet, "/api/v1/parcels/LEAK1", "", nil), ParcelPath).code).
			To(Equal(http.StatusUnauthorized))
		unsigned := &courier{token: c.token}
		Expect(do(unsigned.requestTo(base, http.MethodPost, UpdatePath, "application/pdf", bytes.NewReader(file)),
			UpdatePath).code).To(Equal(http.StatusUnauthorized))

		mu.Lock()
		defer mu.Unlock()
		Expect(logged.String()).To(ContainSubstring("request refused"), "the refusals are logged")
		for _, secret := range []string{c.token, string(c.hmacKey), header, strings.TrimPrefix(header, "t="),
			string(file[9:40])} {
			Expect(logged.String()).NotTo(ContainSubstring(secret))
		}
	})
})
