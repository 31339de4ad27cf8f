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
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
	"github.com/parcelops/parcel-operator/internal/podstore"
)

// Load shape: couriers posting at once, and the acknowledged updates to
// see before a fault and again after recovery, so each fault hits a system
// under load and each recovery is proven by new work getting through.
const (
	couriers     = 4
	ackedPhase   = 15
	storeOutage  = 30 * time.Second
	bigPODSize   = 8 << 20
	moveAttempts = 5
	loadTimeout  = 3 * time.Minute
)

// waitAcked waits until the couriers have ackedPhase more updates
// acknowledged than from.
func waitAcked(ld *load, from int) int {
	GinkgoHelper()
	Eventually(ld.ledger.ackedCount).WithTimeout(loadTimeout).WithPolling(100*time.Millisecond).
		Should(BeNumerically(">=", from+ackedPhase), "acknowledged updates")
	return ld.ledger.ackedCount()
}

var _ = Describe("Under steady courier load", Ordered, func() {
	var first *replica

	BeforeAll(func() {
		first = startReplica("a")
		leader(first)
	})

	AfterEach(func() {
		if CurrentSpecReport().Failed() {
			printReplicaLogs()
		}
	})

	AfterAll(func() {
		GinkgoWriter.Println(summary())
		AddReportEntry("fault test summary", summary())
		// The next container starts its own replicas, and one of these
		// would hold the Lease.
		stopReplicas()
	})

	It("(a) loses nothing when the API server restarts", func() {
		exits := first.exitCount()
		ld := startLoad(ctx, "FA", couriers, first.url)
		acked := waitAcked(ld, 0)

		By("restarting the API server on the same port with the same certificates")
		apiServer := controlPl.ControlPlane.GetAPIServer()
		start := time.Now()
		Expect(apiServer.Stop()).To(Succeed())
		// While it is down, a courier gives up after one try (a 503, or no
		// answer when the leader has lost its lease and exited), leaving its
		// upload staged for the sweeper.
		ld.abandon(ctx, "GONE")
		Expect(apiServer.Start()).To(Succeed())
		down := time.Since(start)

		waitAcked(ld, acked)
		ld.stop()
		Expect(ld.ledger.abandoned).NotTo(BeEmpty(), "the courier that gives up was refused")
		verify(outcome{
			Scenario:     "(a) API server restart",
			ManagerExits: first.exitCount() - exits,
			Fault:        fmt.Sprintf("kube-apiserver stopped and started again, unreachable for %.1fs", down.Seconds()),
		}, ld.ledger)
	})

	It("(b) loses nothing when the object store is down for 30 s", func() {
		exits := first.exitCount()
		ld := startLoad(ctx, "FB", couriers, first.url)
		acked := waitAcked(ld, 0)

		By("stopping the S3 server for 30 s")
		Expect(s3Server.Stop()).To(Succeed())
		time.Sleep(storeOutage)
		Expect(s3Server.Restart()).To(Succeed())

		waitAcked(ld, acked)
		ld.stop()
		Expect(ld.ledger.count(503)).To(BeNumerically(">", 0), "uploads were answered 503 while the store was down")
		verify(outcome{
			Scenario:     "(b) object store down 30 s",
			ManagerExits: first.exitCount() - exits,
			Fault:        fmt.Sprintf("versitygw killed and restarted after %s", storeOutage),
		}, ld.ledger)
	})

	It("(c) loses nothing when the leader is killed -9 while a POD move is in flight", func() {
		exits := first.exitCount()
		ld := startLoad(ctx, "FC", couriers-1, first.url)
		waitAcked(ld, 0)

		// Two windows of a move: the final object half written (a multipart
		// upload open), and the final object complete but the status not yet
		// patched. The kill lands in whichever the poll sees first.
		windows := []struct {
			name string
			hit  func(parcel, eventKey string) bool
		}{
			{"final object being written", func(parcel, _ string) bool {
				uploads, err := s3Server.MultipartUploads(ctx, podBucket)
				Expect(err).NotTo(HaveOccurred())
				for _, k := range uploads {
					if strings.HasPrefix(k, "pods/"+courierNS+"/"+parcel+"/") {
						return true
					}
				}
				return false
			}},
			{"final object written, status not yet patched", func(_, finalKey string) bool {
				ok, err := store.Exists(ctx, finalKey)
				return err == nil && ok
			}},
		}
		var (
			hits []string
			big  int
		)
		for _, w := range windows {
			hit := false
			for attempt := 1; attempt <= moveAttempts && !hit; attempt++ {
				leader(first)
				big++
				l := newLife("FCBIG", big)
				l.abandonOn503 = false
				l.scans[len(l.scans)-1].pod = pdf(bigPODSize)
				parcel := trackingv1alpha1.ParcelName(l.articleID)
				delivered := l.scans[len(l.scans)-1]
				eventID := trackingv1alpha1.DeriveEventID(l.articleID, mustStatus(delivered.status), delivered.time)
				finalKey := podstore.FinalKey(courierNS, parcel, eventID, trackingv1alpha1.ContentTypePDF)

				done := make(chan struct{})
				go func() {
					defer GinkgoRecover()
					defer close(done)
					url := 0
					ld.run(ctx, l, &url)
				}()
				deadline := time.Now().Add(time.Minute)
				for !hit && time.Now().Before(deadline) {
					if w.hit(parcel, finalKey) {
						first.kill()
						p := &trackingv1alpha1.Parcel{}
						Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: courierNS, Name: parcel}, p)).To(Succeed())
						staged := stagedFor(eventID)
						uploads, err := s3Server.MultipartUploads(ctx, podBucket)
						Expect(err).NotTo(HaveOccurred())
						hit = len(p.Status.ProofOfDelivery) == 0
						hits = append(hits, fmt.Sprintf("%s (attempt %d: status listed the file: %t, staged copy still there: %t, "+
							"multipart uploads left open: %d)", w.name, attempt, !hit, staged, len(uploads)))
						break
					}
					time.Sleep(2 * time.Millisecond)
				}
				Eventually(done).WithTimeout(loadTimeout).Should(BeClosed())
			}
			Expect(hit).To(BeTrue(), "the kill landed in the window %q", w.name)
		}

		acked := ld.ledger.ackedCount()
		leader(first)
		waitAcked(ld, acked)
		ld.stop()
		verify(outcome{
			Scenario:     "(c) kill -9 mid-move",
			ManagerExits: first.exitCount() - exits,
			Fault:        "8 MiB PODs, leader killed: " + strings.Join(hits, "; "),
		}, ld.ledger)
	})

	It("(d) loses nothing when one of two replicas, the leader, is killed -9", func() {
		second := startReplica("b")
		exits := first.exitCount() + second.exitCount()
		ld := startLoad(ctx, "FD", couriers, first.url, second.url)
		acked := waitAcked(ld, 0)

		By("killing the leader")
		old := leader(first, second)
		start := time.Now()
		old.kill()
		// The follower, or the killed replica restarted, whichever wins the
		// lease once it expires.
		next := leader(first, second)
		takeover := time.Since(start)

		waitAcked(ld, acked)
		ld.stop()
		verify(outcome{
			Scenario:     "(d) two replicas, leader killed",
			ManagerExits: first.exitCount() + second.exitCount() - exits,
			Fault:        fmt.Sprintf("replica %s (leader) killed, replica %s leading %.1fs later", old.name, next.name, takeover.Seconds()),
		}, ld.ledger)
	})
})
