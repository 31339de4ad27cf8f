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

package plugin

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"gocloud.dev/blob"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
	"github.com/parcelops/parcel-operator/internal/podstore"
)

// Statuses as people read them, and the seed example's spelling of the
// first, typo included.
var (
	receivedInDepot = trackingv1alpha1.StatusReceivedInDepot.DisplayName()
	loadedByDriver  = trackingv1alpha1.StatusLoadedByDriver.DisplayName()
	inTransit       = trackingv1alpha1.StatusInTransit.DisplayName()
)

const (
	seedSpelling = "Received in Depo"
	loadedAt     = "2025-10-08T08:05:00Z"
)

// historySection returns the event table of `kubectl parcel history`.
func historySection(out string) string {
	GinkgoHelper()
	i := strings.Index(out, "\nTIME ")
	Expect(i).To(BeNumerically(">=", 0), "no event table in:\n%s", out)
	return out[i+1:]
}

var _ = Describe("kubectl parcel", Ordered, func() {
	// delivered is a parcel's whole life as its courier reported it: a
	// late scan, a retry and a POD.
	const delivered = "ARP1000052447"
	podFile := pdf('a', 3000)

	BeforeAll(func() {
		Expect(post(scan{delivered, seedSpelling, "2025-10-08T07:30:00Z", seedSpelling, nil})).To(Equal("applied"))
		// In Transit arrives before Loaded by Driver: rejected, then healed.
		Expect(post(scan{delivered, inTransit, "2025-10-08T08:20:00Z", "on the road", nil})).To(Equal("rejected"))
		Expect(post(scan{delivered, loadedByDriver, loadedAt, "", nil})).To(Equal("applied"))
		Expect(post(scan{delivered, loadedByDriver, loadedAt, "", nil})).To(Equal("duplicate"))
		Expect(post(scan{delivered, "Delivered", "2025-10-08T10:15:00Z", "Delivered successfully", podFile})).To(Equal("applied"))
		p := settled(delivered)
		Expect(p.Status.ProofOfDelivery).To(HaveLen(1))
	})

	It("history prints the whole story in one aligned table, by article ID", func() {
		out := parcel("history", delivered)
		Expect(out).To(MatchRegexp(`(?m)^Parcel:\s+acme/arp1000052447$`))
		Expect(out).To(MatchRegexp(`(?m)^Article:\s+ARP1000052447$`))
		Expect(out).To(MatchRegexp(`(?m)^Courier:\s+acme$`))
		Expect(out).To(MatchRegexp(`(?m)^Phase:\s+Delivered$`))
		Expect(out).To(MatchRegexp(`(?m)^Last event:\s+2025-10-08T10:15:00Z \(\d+d ago\)$`))
		Expect(out).To(MatchRegexp(
			`(?m)^\s+Ready\s+True\s+Reconciled\s+Delivered after [45] events: 4 applied, 0 unchanged, 0 rejected, [01] duplicate$`))
		Expect(out).To(MatchRegexp(`(?m)^\s+ProofOfDeliveryStored\s+True\s+Stored\s+1 of 1 proof-of-delivery files stored$`))

		header, all := table(historySection(out))
		Expect(header).To(Equal([]string{"TIME", "STATUS", "VERDICT", "SOURCE", "REMARKS", "POD"}))
		// The retry is recorded as a duplicate row when it reached the API
		// server before the courier API's cache had the original, and
		// answered from the cache otherwise: both are right.
		var rows [][]string
		for _, r := range all {
			if r[2] == "duplicate" {
				Expect(r[:2]).To(Equal([]string{loadedAt, loadedByDriver}))
				continue
			}
			rows = append(rows, r)
		}
		Expect(rows).To(Equal([][]string{
			{"2025-10-08T07:30:00Z", receivedInDepot, "applied", courierName, seedSpelling, "-"},
			{loadedAt, loadedByDriver, "applied", courierName, "-", "-"},
			{"2025-10-08T08:20:00Z", inTransit, "applied", courierName, "on the road", "-"},
			{"2025-10-08T10:15:00Z", "Delivered", "applied", courierName, "Delivered successfully", "stored (3009 bytes)"},
		}))
	})

	It("history -o json prints the Parcel as kubectl get does, and finds it by name too", func() {
		var p trackingv1alpha1.Parcel
		Expect(json.Unmarshal([]byte(parcel("history", "arp1000052447", "-o", "json")), &p)).To(Succeed())
		Expect(p.Kind).To(Equal("Parcel"))
		Expect(p.APIVersion).To(Equal("tracking.parcelops.io/v1alpha1"))
		Expect(p.Spec.ArticleID).To(Equal(delivered))
		Expect(p.Status.Phase).To(Equal(trackingv1alpha1.StatusDelivered))
	})

	It("history of an unknown article says what to check", func() {
		r := kubectl("", nil, "parcel", "history", "ARP404", "-n", namespace)
		Expect(r.err).To(HaveOccurred())
		Expect(r.stderr).To(ContainSubstring(`no parcel with article ID or name "ARP404" in namespace "acme" (looked for pcl/arp404)`))
	})

	Describe("correct", func() {
		const article = "ARP2000000001"
		BeforeAll(func() {
			Expect(post(scan{article, receivedInDepot, "2025-10-09T07:30:00Z", "", nil})).To(Equal("applied"))
			Expect(post(scan{article, loadedByDriver, "2025-10-09T08:00:00Z", "", nil})).To(Equal("applied"))
			Expect(post(scan{article, inTransit, "2025-10-09T08:30:00Z", "", nil})).To(Equal("applied"))
			settled(article)
		})

		It("appends a forced event as the kubectl user, with the couriers' spellings, and prints the fold's verdict", func() {
			out := parcel("correct", article, "--status", "RD- Return to depo", "--reason", "driver returned it, scanner broken")
			Expect(out).To(MatchRegexp(`^parcel acme/arp2000000001: event [a-f0-9]{16} recorded as ` + adminUser +
				`: applied, In Transit -> Return to Depot \(forced\); phase now Return to Depot\n$`))

			p := settled(article)
			Expect(p.Spec.Events).To(HaveLen(4))
			fix := p.Spec.Events[3]
			Expect(fix.Force).To(BeTrue())
			Expect(fix.Source).To(Equal(adminUser))
			Expect(fix.Status).To(Equal(trackingv1alpha1.StatusReturnToDepot))
			Expect(fix.Remarks).To(Equal("driver returned it, scanner broken"))
			Expect(fix.ID).To(Equal(trackingv1alpha1.DeriveEventID(article, fix.Status, fix.Time.Time)))
			Expect(p.Status.Phase).To(Equal(trackingv1alpha1.StatusReturnToDepot))
			// The courier is still the one that handled it.
			Expect(trackingv1alpha1.CourierOf(p.Spec.Events)).To(Equal(courierName))

			_, rows := table(historySection(parcel("history", article)))
			Expect(rows[3][1:4]).To(Equal([]string{"Return to Depot", "applied (forced)", adminUser}))
		})

		It("refuses a parcel already in that status, and writes nothing", func() {
			before := settled(article)
			r := kubectl("", nil, "parcel", "correct", article, "--status", "Return to Depot", "--reason", "again", "-n", namespace)
			Expect(r.err).To(HaveOccurred())
			Expect(r.stderr).To(ContainSubstring("parcel acme/arp2000000001 (ARP2000000001) is already Return to Depot; nothing to correct"))
			after := settled(article)
			Expect(after.Generation).To(Equal(before.Generation))
			Expect(after.Spec.Events).To(HaveLen(len(before.Spec.Events)))
		})

		It("refuses a status nobody spells that way, listing the spellings", func() {
			r := kubectl("", nil, "parcel", "correct", article, "--status", "Lost", "--reason", "x", "-n", namespace)
			Expect(r.err).To(HaveOccurred())
			Expect(r.stderr).To(ContainSubstring(`--status: unknown status "Lost"; accepted: "Not Scanned", "Received in Depot"`))
		})
	})

	It("stuck lists the parcels without news, by phase and courier, and not the terminal ones", func() {
		const waiting = "ARP3000000001"
		Expect(post(scan{waiting, receivedInDepot, "2025-10-10T07:30:00Z", "", nil})).To(Equal("applied"))
		settled(waiting)

		out := parcel("stuck")
		header, rows := table(out)
		Expect(header).To(Equal([]string{"PHASE", "COURIER", "NAME", "ARTICLE", "LAST EVENT", "FOR", "OVERDUE"}))
		// Not the delivered parcel (terminal), nor the corrected one: its
		// last event is the correction, made minutes ago.
		Expect(rows).To(HaveLen(1))
		Expect(rows[0][:5]).To(Equal([]string{receivedInDepot, courierName, "arp3000000001", waiting, "2025-10-10T07:30:00Z"}))
		Expect(rows[0][5]).To(MatchRegexp(`^\d+d$`))
		Expect(rows[0][6]).To(Equal("-"))

		all := kubectl("", nil, "parcel", "stuck", "-A")
		Expect(all.err).NotTo(HaveOccurred())
		header, rows = table(all.stdout)
		Expect(header[0]).To(Equal("NAMESPACE"))
		Expect(rows).To(HaveLen(1))

		none := kubectl("", nil, "parcel", "stuck", "--for", "87600h", "-n", namespace)
		Expect(none.err).NotTo(HaveOccurred())
		Expect(none.stdout).To(BeEmpty())
		Expect(none.stderr).To(ContainSubstring(`No parcel in namespace "acme" has gone without an event for more than 87600h0m0s.`))
	})

	It("couriers says who can authenticate and why not, their limits and their parcels by phase", func() {
		Expect(k8sClient.Create(ctx, &trackingv1alpha1.Courier{
			ObjectMeta: metav1.ObjectMeta{Name: "broken", Namespace: namespace},
			Spec: trackingv1alpha1.CourierSpec{
				SecretRef: trackingv1alpha1.SecretReference{Name: "missing"},
				RateLimit: &trackingv1alpha1.RateLimit{RequestsPerSecond: 5},
				MaxTimeInStatus: []trackingv1alpha1.StatusTimeLimit{
					{Status: trackingv1alpha1.StatusInTransit, Duration: metav1.Duration{Duration: 48 * time.Hour}},
				},
			},
		})).To(Succeed())
		var rows [][]string
		Eventually(func(g Gomega) {
			var header []string
			header, rows = table(parcel("couriers"))
			g.Expect(header).To(Equal([]string{"NAME", "READY", "REASON", "RATE", "MAX TIME IN STATUS", "PARCELS", "MESSAGE"}))
			g.Expect(rows).To(HaveLen(2))
			g.Expect(rows[0][1]).NotTo(Equal("Unknown"))
			g.Expect(rows[1][1]).NotTo(Equal("Unknown"))
		}).Should(Succeed())
		Expect(rows[0][:6]).To(Equal([]string{courierName, "True", "CredentialsValid", "100/s burst 200", "-",
			"Received in Depot 1, Delivered 1, Return to Depot 1"}))
		Expect(rows[1][:6]).To(Equal([]string{"broken", "False", "SecretNotFound", "5/s burst 10", "In Transit 48h", "0"}))
		Expect(rows[1][6]).To(ContainSubstring("missing"))
	})

	Describe("pod", func() {
		var stored trackingv1alpha1.StoredProofOfDelivery
		BeforeAll(func() {
			stored = settled(delivered).Status.ProofOfDelivery[0]
		})

		It("says where the file is, its SHA-256 and size, and how to download it", func() {
			out := parcel("pod", delivered)
			header, rows := table(strings.SplitN(out, "\n\n", 2)[0])
			Expect(header).To(Equal([]string{"EVENT", "STATUS", "STATE", "SIZE", "SHA256", "URL"}))
			Expect(rows).To(HaveLen(1))
			Expect(rows[0][1]).To(Equal("Delivered"))
			Expect(rows[0][3:]).To(Equal([]string{"3009", digest(podFile), stored.URL}))
			Expect(out).To(ContainSubstring("To download it verified, pass --bucket URL (the manager's --pod-bucket) or set PARCEL_POD_BUCKET."))
		})

		It("downloads the file from the bucket the manager uses, verified", func() {
			dir := GinkgoT().TempDir()
			r := kubectl(dir, []string{"PARCEL_POD_BUCKET=" + s3Server.BucketURL(podBucket)},
				"parcel", "pod", delivered, "-n", namespace, "-o", "pod.pdf")
			Expect(r.err).NotTo(HaveOccurred(), r.stderr)
			Expect(r.stdout).To(ContainSubstring("downloaded to pod.pdf: 3009 bytes, sha256 " + digest(podFile) + " verified"))
			Expect(os.ReadFile(filepath.Join(dir, "pod.pdf"))).To(Equal(podFile)) //nolint:gosec // the spec's own temporary directory

			r = kubectl(dir, nil, "parcel", "pod", delivered, "-n", namespace, "--bucket", s3Server.BucketURL(podBucket))
			Expect(r.err).NotTo(HaveOccurred(), r.stderr)
			name := filepath.Base(stored.URL)
			Expect(os.ReadFile(filepath.Join(dir, name))).To(Equal(podFile)) //nolint:gosec // the spec's own temporary directory
		})

		It("refuses a stored file that no longer matches its SHA-256, and leaves nothing behind", func() {
			store, err := podstore.Open(ctx, s3Server.BucketURL(podBucket))
			Expect(err).NotTo(HaveOccurred())
			defer func() { _ = store.Close() }()
			key, err := store.KeyOf(stored.URL)
			Expect(err).NotTo(HaveOccurred())
			raw, err := blob.OpenBucket(ctx, s3Server.BucketURL(podBucket))
			Expect(err).NotTo(HaveOccurred())
			DeferCleanup(raw.Close)
			Expect(raw.WriteAll(ctx, key, pdf('b', 3000), nil)).To(Succeed())
			DeferCleanup(func() { Expect(raw.WriteAll(ctx, key, podFile, nil)).To(Succeed()) })

			dir := GinkgoT().TempDir()
			r := kubectl(dir, nil, "parcel", "pod", delivered, "-n", namespace, "--bucket", s3Server.BucketURL(podBucket), "-o", "pod.pdf")
			Expect(r.err).To(HaveOccurred())
			Expect(r.stderr).To(ContainSubstring("verification failed"))
			Expect(r.stderr).To(ContainSubstring("nothing was written to pod.pdf"))
			Expect(os.ReadDir(dir)).To(BeEmpty())
		})

		It("says so for a parcel without a proof of delivery", func() {
			r := kubectl("", nil, "parcel", "pod", "ARP2000000001", "-n", namespace)
			Expect(r.err).To(HaveOccurred())
			Expect(r.stderr).To(ContainSubstring("parcel acme/arp2000000001 (ARP2000000001) has no proof of delivery"))
		})
	})

	It("--help shows examples", func() {
		for _, sub := range []string{"history", "correct", "pod", "stuck", "couriers"} {
			Expect(parcel(sub, "--help")).To(ContainSubstring("Examples:\n  "), sub)
		}
	})
})

func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
