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
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/parcelops/parcel-operator/internal/managerproc"
	"github.com/parcelops/parcel-operator/internal/testenv"
)

// metricsCourierManifest is a courier of its own, so this spec's traffic
// never shows in the other specs' namespace.
const metricsCourierManifest = `
apiVersion: v1
kind: Namespace
metadata:
  name: metrics
---
apiVersion: v1
kind: Secret
metadata:
  name: metrics-token
  namespace: metrics
  labels:
    tracking.parcelops.io/courier-credentials: "true"
stringData:
  token: e2e-metrics-token-0123456789abcdef
---
apiVersion: tracking.parcelops.io/v1alpha1
kind: Courier
metadata:
  name: metrics
  namespace: metrics
spec:
  displayName: Metrics Courier
  secretRef:
    name: metrics-token
`

const metricsCourierToken = "e2e-metrics-token-0123456789abcdef" //nolint:gosec // a test courier's token, in metricsCourierManifest too

// trafficOnlyMetrics are metrics a panel or an alert uses that this spec
// cannot make appear, each with why. A vector metric is only exported once
// one of its label sets has been counted.
var trafficOnlyMetrics = map[string]string{
	// Needs an archive attempt that fails: a Parcel past --archive-after
	// (at least 1h) while the bucket is down. controllers' retention tests
	// cover it against a real S3 server.
	"parcel_archive_failures_total": "an archive failure",
	// Need a Subscription delivering to a receiver; controllers'
	// subscription specs deliver to real HTTP receivers, and the fault
	// tests kill the receiver and the leader mid-delivery.
	"parcel_notification_deliveries_total":                 "a notification delivery",
	"parcel_notification_backlog":                          "a Subscription",
	"parcel_notification_delivery_duration_seconds_bucket": "a notification delivery",
	// Needs a parcel past its courier's maxTimeInStatus (at least a
	// minute); controllers' overdue specs drive it on a fake clock.
	"parcel_overdue": "an overdue parcel",
}

// dashboardAndAlertMetrics runs promql-metrics (make promql-metrics) over the
// dashboard and the alerts: it parses every expression with Prometheus's
// parser and prints the metric names they select.
func dashboardAndAlertMetrics() map[string]string {
	GinkgoHelper()
	bin := os.Getenv("PROMQL_METRICS")
	Expect(bin).NotTo(BeEmpty(), "PROMQL_METRICS is not set: run `make promql-metrics` "+
		"(`make test` and `make test-e2e` do it for you) and set PROMQL_METRICS to the binary it builds")
	root := testenv.RepoRoot()
	cmd := exec.CommandContext(ctx, bin, //nolint:gosec // promql-metrics, as make built it
		filepath.Join(root, "config", "grafana", "parcel-operator.json"),
		filepath.Join(root, "config", "prometheus", "rules.yaml"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	Expect(err).NotTo(HaveOccurred(), stderr.String())
	uses := map[string]string{}
	for line := range strings.Lines(string(out)) {
		name, where, ok := strings.Cut(strings.TrimSpace(line), "\t")
		Expect(ok).To(BeTrue(), "promql-metrics printed %q", line)
		uses[name] = where
	}
	Expect(uses).To(HaveKey("parcel_webhook_requests_total"))
	return uses
}

// exported scrapes url and returns every sample name it serves: a
// histogram's _bucket, _sum and _count, a counter's or gauge's own name.
func exported(url string) (map[string]bool, error) {
	reqCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(reqCtx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, err
	}
	names := map[string]bool{}
	for name, f := range families {
		if len(f.GetMetric()) == 0 {
			continue
		}
		switch f.GetType() {
		case dto.MetricType_HISTOGRAM:
			names[name+"_bucket"], names[name+"_sum"], names[name+"_count"] = true, true, true
		case dto.MetricType_SUMMARY:
			names[name+"_sum"], names[name+"_count"] = true, true
		default:
			names[name] = true
		}
	}
	return names, nil
}

// postAs sends one scan as multipart with the given bearer token and returns
// the status code.
func postAs(baseURL, token string, s scan) (int, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if err := mw.WriteField("form_data", s.formData()); err != nil {
		return 0, err
	}
	if s.pod != nil {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="pod_file"; filename="pod.pdf"`)
		h.Set("Content-Type", "application/pdf")
		part, err := mw.CreatePart(h)
		if err != nil {
			return 0, err
		}
		if _, err := part.Write(s.pod); err != nil {
			return 0, err
		}
	}
	if err := mw.Close(); err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, baseURL+"/api/v1/webhook/parcel-status", &buf)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return 0, err
	}
	defer func() { _ = resp.Body.Close() }()
	_, err = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, err
}

var _ = Describe("the metrics the dashboard and the alerts use", Ordered, func() {
	var (
		webhookURL, metricsURL string
		uses                   map[string]string
	)

	BeforeAll(func() {
		uses = dashboardAndAlertMetrics()

		// This spec's manager must be the only one reconciling, so the
		// reconciler's counters it drives are counted where it scrapes.
		if manager != nil {
			manager.Stop()
			manager = nil
		}
		kubectl(nil, "apply", "--server-side", "-k", "config/crd")
		kubectl(nil, "create", "namespace", "metrics-leader")

		webhookPort, err := managerproc.FreePort(ctx)
		Expect(err).NotTo(HaveOccurred())
		metricsPort, err := managerproc.FreePort(ctx)
		Expect(err).NotTo(HaveOccurred())
		webhookURL = fmt.Sprintf("http://127.0.0.1:%d", webhookPort)
		metricsURL = fmt.Sprintf("http://127.0.0.1:%d/metrics", metricsPort)
		p, err := managerproc.Start(managerBin, []string{
			fmt.Sprintf("--webhook-bind-address=127.0.0.1:%d", webhookPort),
			"--health-probe-bind-address=0",
			fmt.Sprintf("--metrics-bind-address=127.0.0.1:%d", metricsPort),
			"--metrics-secure=false",
			// leader_election_master_status exists only with an elector.
			"--leader-elect",
			"--leader-election-namespace=metrics-leader",
			// A burst of 10 failed authentications, then client-rate 429s.
			"--webhook-unauthenticated-rate=0.01",
			"--pod-bucket=" + s3Server.BucketURL(podBucket),
		}, append([]string{"KUBECONFIG=" + kubeconfig}, s3Server.Env()...), GinkgoWriter)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(p.Stop)
		readyCtx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		Expect(p.WaitReady(readyCtx, webhookURL+"/readyz")).To(Succeed())
	})

	It("are every one on the manager's /metrics once couriers, the reconciler, the sweeper and the elector have worked", func() {
		By("a courier's parcel driven to Delivered with its POD, then a transition the fold refuses")
		kubectl([]byte(metricsCourierManifest), "apply", "--server-side", "-f", "-")
		kubectl(nil, "-n", "metrics", "wait", "courier/metrics", "--for=condition=Ready", "--timeout=60s")
		for _, s := range life("ARPMETRICS001") {
			code, err := postAs(webhookURL, metricsCourierToken, s)
			Expect(err).NotTo(HaveOccurred())
			Expect(code).To(Equal(http.StatusOK), "%s", s.status)
		}
		// Recorded but not applied (Delivered -> In Transit): 409.
		code, err := postAs(webhookURL, metricsCourierToken, scan{"ARPMETRICS001", "In Transit", "2025-10-08T11:00:00Z", nil})
		Expect(err).NotTo(HaveOccurred())
		Expect(code).To(Equal(http.StatusConflict))
		kubectl(nil, "-n", "metrics", "wait", "parcel/arpmetrics001",
			"--for=condition=ProofOfDeliveryStored", "--timeout=60s")

		By("unknown tokens until the client-rate limit refuses them")
		codes := map[int]int{}
		for range 12 {
			code, err := postAs(webhookURL, "not-a-courier-token", life("ARPMETRICS002")[0])
			Expect(err).NotTo(HaveOccurred())
			codes[code]++
		}
		Expect(codes).To(HaveKey(http.StatusUnauthorized))
		Expect(codes).To(HaveKey(http.StatusTooManyRequests))

		Eventually(func(g Gomega) {
			names, err := exported(metricsURL)
			g.Expect(err).NotTo(HaveOccurred())
			var missing []string
			for name, where := range uses {
				if !names[name] && trafficOnlyMetrics[name] == "" {
					missing = append(missing, name+" (used by "+where+")")
				}
			}
			g.Expect(missing).To(BeEmpty(), "not on the manager's /metrics")
		}).WithTimeout(time.Minute).Should(Succeed())
	})

	It("allows for traffic-only metrics only those a panel or an alert still uses", func() {
		for name := range trafficOnlyMetrics {
			Expect(uses).To(HaveKey(name), "%s is allowed to be missing but nothing uses it: drop it from trafficOnlyMetrics", name)
		}
	})
})
