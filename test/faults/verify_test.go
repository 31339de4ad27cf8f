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

package faults

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"gocloud.dev/blob"
	"sigs.k8s.io/controller-runtime/pkg/client"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
	"github.com/parcelops/parcel-operator/internal/podstore"
)

// settleTimeout bounds the wait for the reconciler to catch up after a
// fault: its backoff after an outage, and a new leader's lease wait.
const settleTimeout = 3 * time.Minute

// outcome is what one scenario counted, for the report.
type outcome struct {
	Scenario string
	// Requests answered, by kind.
	Requests, OK, Rejected409, Unavailable503, Other int
	// NoRetryAfter counts 503s without Retry-After (must be 0).
	NoRetryAfter int
	// Transport counts requests no replica answered (refused connections
	// while a replica restarted).
	Transport int
	// Acked is the number of distinct events answered 200 or 409; Lost, of
	// those, the ones not in their Parcel (must be 0).
	Acked, Lost int
	// Parcels checked, and FoldMismatch those whose status is not the fold
	// of their events (must be 0).
	Parcels, FoldMismatch int
	// PODs acknowledged, of them answered "staged", and verified at their
	// final key (must equal PODs).
	PODs, PODsStaged, PODsVerified int
	// Abandoned uploads (courier gave up after a 503), of them recorded
	// anyway (the write had landed) and stored, and swept.
	Abandoned, AbandonedStored, AbandonedSwept int
	// Orphans: staged objects left under incoming/ (must be 0).
	Orphans int
	// UploadsLeftOpen: multipart uploads open when the load stopped, a
	// killed writer's among them.
	UploadsLeftOpen int
	// IncompleteUploads: multipart uploads a killed writer left open in
	// the bucket, invisible to listings (must be 0: the sweeper aborts
	// them).
	IncompleteUploads int
	// ManagerExits: manager processes that ended (killed or of their own
	// accord) and were restarted.
	ManagerExits int
	// Fault says what was done and how long clients were told to retry.
	Fault string
}

var (
	outcomesMu sync.Mutex
	outcomes   []outcome
)

// verify waits until the system has caught up with everything the couriers
// of one scenario were told, checks it, and reports the counts.
func verify(o outcome, lg *ledger) {
	GinkgoHelper()
	raw, err := blob.OpenBucket(ctx, s3Server.BucketURL(podBucket))
	Expect(err).NotTo(HaveOccurred())
	defer func() { _ = raw.Close() }()

	lg.mu.Lock()
	defer lg.mu.Unlock()
	countAnswers(&o, lg)

	openUploads, err := s3Server.MultipartUploads(ctx, podBucket)
	Expect(err).NotTo(HaveOccurred())
	o.UploadsLeftOpen = len(openUploads)

	By("waiting until every parcel's status is the fold of its events, with every file stored")
	parcels := map[string]*trackingv1alpha1.Parcel{}
	Eventually(func(g Gomega) {
		list := &trackingv1alpha1.ParcelList{}
		g.Expect(k8sClient.List(ctx, list, client.InNamespace(courierNS))).To(Succeed())
		byArticle := make(map[string]*trackingv1alpha1.Parcel, len(list.Items))
		for i := range list.Items {
			byArticle[list.Items[i].Spec.ArticleID] = &list.Items[i]
		}
		clear(parcels)
		for articleID := range lg.articles {
			p, ok := byArticle[articleID]
			if !ok {
				g.Expect(lg.acked[articleID]).To(BeEmpty(), "parcel %s has acknowledged events but does not exist", articleID)
				continue
			}
			g.Expect(p.Status.ObservedGeneration).To(Equal(p.Generation), "parcel %s reconciled", p.Name)
			g.Expect(pendingPODs(p)).To(BeEmpty(), "parcel %s: files not stored yet", p.Name)
			parcels[articleID] = p
		}
	}).WithTimeout(settleTimeout).WithPolling(time.Second).Should(Succeed())

	By("waiting for the staging area to hold nothing (no move pending, no orphan) and no upload to be left open")
	var left, uploads []string
	Eventually(func(g Gomega) {
		staged, err := store.ListStaged(ctx, time.Now().Add(time.Hour))
		g.Expect(err).NotTo(HaveOccurred())
		left = left[:0]
		for _, s := range staged {
			left = append(left, s.Key)
		}
		uploads, err = s3Server.MultipartUploads(ctx, podBucket)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(left).To(BeEmpty(), "staged objects")
		g.Expect(uploads).To(BeEmpty(), "unfinished multipart uploads")
	}).WithTimeout(2*stagingGrace + time.Minute).WithPolling(time.Second).Should(Succeed())
	o.Orphans, o.IncompleteUploads = len(left), len(uploads)

	// Only now: a move deletes its staged copy after the status write that
	// lists the file, and a killed mover leaves it to the sweeper, so the
	// staging area is empty some time after the status is complete.
	By("counting what was acknowledged and what the parcels hold")
	countParcels(&o, lg, parcels, raw)

	report(o)
	Expect(lg.unexpected).To(BeEmpty(), "answers no fault should cause (a 500, a 4xx)")
	Expect(o.NoRetryAfter).To(BeZero(), "every 503 carries Retry-After")
	Expect(o.Lost).To(BeZero(), "acknowledged events missing from their Parcel")
	Expect(o.FoldMismatch).To(BeZero(), "parcels whose status is not the fold of their events")
	Expect(o.PODsVerified).To(Equal(o.PODs), "acknowledged files stored and verified")
	Expect(o.AbandonedStored+o.AbandonedSwept).To(Equal(o.Abandoned), "abandoned uploads stored or swept")
}

// countAnswers adds the couriers' answers, by status code, to o. The caller
// holds lg.mu.
func countAnswers(o *outcome, lg *ledger) {
	for code, n := range lg.codes {
		o.Requests += n
		switch code {
		case http.StatusOK:
			o.OK += n
		case http.StatusConflict:
			o.Rejected409 += n
		case http.StatusServiceUnavailable:
			o.Unavailable503 += n
		default:
			o.Other += n
		}
	}
	o.NoRetryAfter, o.Transport = lg.noRetryAfter, lg.transport
	if !lg.first503.IsZero() {
		o.Fault += fmt.Sprintf("; 503s answered for %.1fs", lg.last503.Sub(lg.first503).Seconds())
	}
}

// countParcels compares what the couriers were told with what the parcels
// and the bucket hold, and adds the counts to o. The caller holds lg.mu.
func countParcels(o *outcome, lg *ledger, parcels map[string]*trackingv1alpha1.Parcel, raw *blob.Bucket) {
	for articleID, p := range parcels {
		o.Parcels++
		recorded := map[string]bool{}
		for _, e := range p.Spec.Events {
			recorded[e.ID] = true
		}
		for id := range lg.acked[articleID] {
			o.Acked++
			if !recorded[id] {
				o.Lost++
				GinkgoWriter.Printf("LOST: event %s of %s was acknowledged but is not in the Parcel\n", id, articleID)
			}
		}
		fold := trackingv1alpha1.Fold(p.Spec.Events)
		if p.Status.Phase != fold.Phase || !equalHistory(trackingv1alpha1.WithoutRecorded(p.Status.History), fold.History()) {
			o.FoldMismatch++
			GinkgoWriter.Printf("FOLD: parcel %s has phase %s, the fold says %s\n", p.Name, p.Status.Phase, fold.Phase)
		}
	}
	for _, pod := range lg.pods {
		o.PODs++
		if pod.staged {
			o.PODsStaged++
		}
		if storedIntact(raw, pod) {
			o.PODsVerified++
		}
	}
	for _, pod := range lg.abandoned {
		o.Abandoned++
		// Recorded when the parcel holds the file as its event's proof (an
		// event recorded without it, before a late file was abandoned, is
		// not enough).
		if p, ok := parcels[pod.articleID]; ok && recordedProof(p, pod) {
			if storedIntact(raw, pod) {
				o.AbandonedStored++
			}
			continue
		}
		o.AbandonedSwept++
	}
}

// pendingPODs lists the events whose file the status does not list as
// stored: the file that proves each id, as the reconciler counts them.
func pendingPODs(p *trackingv1alpha1.Parcel) []string {
	stored := map[string]bool{}
	for _, s := range p.Status.ProofOfDelivery {
		stored[s.EventID] = true
	}
	var pending []string
	for id := range trackingv1alpha1.Proofs(p.Spec.Events) {
		if !stored[id] {
			pending = append(pending, id)
		}
	}
	return pending
}

// recordedProof reports whether the parcel records the file as the proof of
// delivery of its event.
func recordedProof(p *trackingv1alpha1.Parcel, pod sentPOD) bool {
	proof := trackingv1alpha1.ProofOf(p.Spec.Events, pod.eventID)
	return proof != nil && proof.SHA256 == pod.sha256
}

// storedIntact reports whether the file is at its final key with the bytes
// the courier sent. (That its staged copy is gone is the empty staging
// area's check.)
func storedIntact(raw *blob.Bucket, pod sentPOD) bool {
	GinkgoHelper()
	name := trackingv1alpha1.ParcelName(pod.articleID)
	final := podstore.FinalKey(courierNS, name, pod.eventID, trackingv1alpha1.ContentTypePDF)
	b, err := raw.ReadAll(ctx, final)
	if err != nil {
		GinkgoWriter.Printf("POD: %s: %v\n", final, err)
		return false
	}
	if len(b) != pod.size || sha(b) != pod.sha256 {
		GinkgoWriter.Printf("POD: %s holds %d bytes with sha256 %s, the courier sent %d with %s\n",
			final, len(b), sha(b), pod.size, pod.sha256)
		return false
	}
	return true
}

// stagedFor reports whether any upload of the event is still staged.
func stagedFor(eventID string) bool {
	GinkgoHelper()
	all, err := store.ListStaged(ctx, time.Now().Add(time.Hour))
	Expect(err).NotTo(HaveOccurred())
	for _, o := range all {
		if o.Namespace == courierNS && o.EventID == eventID {
			return true
		}
	}
	return false
}

func equalHistory(a, b []trackingv1alpha1.EventVerdict) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// report prints a scenario's counts and attaches them to the Ginkgo report.
func report(o outcome) {
	line := fmt.Sprintf("%s: %d requests (%d 200, %d 409, %d 503 all with Retry-After: %t, %d other), "+
		"%d unanswered while no replica listened; %d events acknowledged, %d lost; %d parcels, %d not the fold; "+
		"%d PODs acknowledged (%d answered staged), %d stored and verified; %d uploads abandoned after a 503 "+
		"(%d recorded anyway and stored, %d swept); %d orphans; %d multipart uploads open after the fault, %d left; %d manager exits; fault: %s",
		o.Scenario, o.Requests, o.OK, o.Rejected409, o.Unavailable503, o.NoRetryAfter == 0, o.Other,
		o.Transport, o.Acked, o.Lost, o.Parcels, o.FoldMismatch,
		o.PODs, o.PODsStaged, o.PODsVerified, o.Abandoned, o.AbandonedStored, o.AbandonedSwept,
		o.Orphans, o.UploadsLeftOpen, o.IncompleteUploads, o.ManagerExits, o.Fault)
	GinkgoWriter.Println(line)
	AddReportEntry(o.Scenario, line)
	outcomesMu.Lock()
	outcomes = append(outcomes, o)
	outcomesMu.Unlock()
}

// summary is the table of every scenario's counts, as docs/reliability.md
// records it.
func summary() string {
	outcomesMu.Lock()
	defer outcomesMu.Unlock()
	var b strings.Builder
	b.WriteString("| scenario | requests | 200 | 409 | 503 (all with Retry-After) | 500/other | unanswered | acked | lost | parcels " +
		"| fold mismatches | PODs acked | PODs verified | abandoned uploads (stored/swept) | orphans " +
		"| multipart uploads open after the fault / left | manager exits |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, o := range outcomes {
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d (%t) | %d | %d | %d | %d | %d | %d | %d | %d | %d (%d/%d) | %d | %d / %d | %d |\n",
			o.Scenario, o.Requests, o.OK, o.Rejected409, o.Unavailable503, o.NoRetryAfter == 0, o.Other, o.Transport,
			o.Acked, o.Lost, o.Parcels, o.FoldMismatch, o.PODs, o.PODsVerified,
			o.Abandoned, o.AbandonedStored, o.AbandonedSwept, o.Orphans, o.UploadsLeftOpen, o.IncompleteUploads, o.ManagerExits)
	}
	for _, o := range outcomes {
		fmt.Fprintf(&b, "\n- %s: %s", o.Scenario, o.Fault)
	}
	return b.String()
}
