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

package main

import (
	"math/rand/v2"
	"slices"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

var testCouriers = []courier{{namespace: "c0"}, {namespace: "c1"}}

// Request kinds the tables use.
const (
	patchParcels = "PATCH parcels"
	createEvents = "CREATE events"
)

// testRNG is a seeded generator, so every run sees the same traffic.
func testRNG(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, seed+1)) //nolint:gosec // G404: traffic's shape, not a secret
}

// poolOf is an interleaved mix of n parcels, each at the start of its
// plan, without the API server.
func poolOf(n int, rng *rand.Rand) *interleavedMix {
	m := &interleavedMix{couriers: testCouriers, slots: make([]poolSlot, n)}
	for i := range m.slots {
		m.slots[i] = m.newSlot(i, rng)
	}
	return m
}

// slotOf finds the pool slot of a parcel.
func slotOf(m *interleavedMix, articleID string) poolSlot {
	for _, sl := range m.slots {
		if sl.plan[0].articleID == articleID {
			return sl
		}
	}
	Fail("no slot holds " + articleID)
	return poolSlot{}
}

var _ = Describe("the traffic mixes", func() {
	It("burst: each client sends one parcel's plan to its end, then the next parcel's", func() {
		rng := testRNG(1)
		m := newBurstMix("S00", testCouriers, 2)
		sent := make([]scan, 0, 40)
		for range 40 {
			c, s, release := m.next(1, rng)
			Expect(c).To(Equal(testCouriers[1]))
			sent = append(sent, s)
			release()
		}
		parcels := 0
		for i, s := range sent {
			if i == 0 || s.articleID != sent[i-1].articleID {
				parcels++
				for _, earlier := range sent[:i] {
					Expect(earlier.articleID).NotTo(Equal(s.articleID), "a parcel's scans are back to back")
				}
			}
		}
		Expect(parcels).To(BeNumerically(">=", 4))
	})

	It("interleaved: every parcel's scans go out in plan order, from its own courier, never two at once", func() {
		rng := testRNG(3)
		m := poolOf(50, rng)
		plans := map[string][]scan{}
		courierOf := map[string]courier{}
		for _, sl := range m.slots {
			plans[sl.plan[0].articleID] = sl.plan
			courierOf[sl.plan[0].articleID] = sl.courier
		}
		sent := map[string][]scan{}
		inFlight := map[string]bool{}
		releases := make([]func(), 0, 8)
		for i := range 2000 {
			c, s, release := m.next(0, rng)
			Expect(inFlight[s.articleID]).To(BeFalse(), "a parcel with a scan in flight is not handed out")
			inFlight[s.articleID] = true
			if _, ok := plans[s.articleID]; !ok {
				// A parcel that replaced a finished one.
				sl := slotOf(m, s.articleID)
				plans[s.articleID], courierOf[s.articleID] = sl.plan, sl.courier
			}
			Expect(c).To(Equal(courierOf[s.articleID]))
			sent[s.articleID] = append(sent[s.articleID], s)
			releases = append(releases, func() { inFlight[s.articleID] = false; release() })
			// Keep up to 8 scans in flight, as 8 clients would.
			if len(releases) == 8 || i == 1999 {
				for _, r := range releases {
					r()
				}
				releases = releases[:0]
			}
		}
		finished := 0
		for id, got := range sent {
			Expect(got).To(Equal(plans[id][:len(got)]), "parcel %s in plan order", id)
			if len(got) == len(plans[id]) {
				finished++
			}
		}
		Expect(finished).To(BeNumerically(">", 50), "finished parcels are replaced by new ones")
	})

	It("interleaved: consecutive scans of one parcel are about the pool's size apart", func() {
		rng := testRNG(5)
		const size = 1000
		m := poolOf(size, rng)
		last := map[string]int{}
		var gaps []int
		for i := range 20000 {
			_, s, release := m.next(0, rng)
			if j, ok := last[s.articleID]; ok {
				gaps = append(gaps, i-j)
			}
			last[s.articleID] = i
			release()
		}
		slices.Sort(gaps)
		Expect(gaps[len(gaps)/2]).To(BeNumerically(">", size/2), "median gap over half the pool")
	})
})

var _ = DescribeTable("requests per update",
	func(before, after requestCounts, updates int, want map[string]float64) {
		Expect(after.perUpdate(before, updates)).To(Equal(want))
	},
	Entry("no updates: nothing", requestCounts{patchParcels: 1}, requestCounts{patchParcels: 9}, 0, map[string]float64{}),
	Entry("the difference over the updates, rounded to thousandths",
		requestCounts{patchParcels: 10, createEvents: 5},
		requestCounts{patchParcels: 13, createEvents: 12, "PATCH parcels/status": 1}, 3,
		map[string]float64{patchParcels: 1, createEvents: 2.333, "PATCH parcels/status": 0.333}),
	Entry("a counter that did not move is left out",
		requestCounts{"GET leases": 4}, requestCounts{"GET leases": 4, "CREATE parcels": 2}, 2,
		map[string]float64{"CREATE parcels": 1}),
)

var _ = DescribeTable("Event writes the manager's sink made",
	func(c requestCounts, want float64) { Expect(c.events()).To(Equal(want)) },
	Entry("none", requestCounts{patchParcels: 3}, 0.0),
	Entry("creates, and the patches a correlator makes of repeated Events",
		requestCounts{createEvents: 5, "PATCH events": 2, patchParcels: 9}, 7.0),
	Entry("reads of Events are not writes", requestCounts{"LIST events": 4, "WATCH events": 1, "UPDATE events": 1}, 1.0),
)

var _ = DescribeTable("percentiles, nearest rank, in milliseconds",
	func(ds []time.Duration, want quantiles) {
		Expect(percentiles(ds)).To(Equal(want))
	},
	Entry("none", nil, quantiles{}),
	Entry("one", []time.Duration{7 * time.Millisecond}, quantiles{P50: 7, P95: 7, P99: 7}),
	Entry("a hundred, unsorted", func() []time.Duration {
		var ds []time.Duration
		for i := 100; i >= 1; i-- {
			ds = append(ds, time.Duration(i)*time.Millisecond)
		}
		return ds
	}(), quantiles{P50: 50, P95: 95, P99: 99}),
)

var _ = DescribeTable("the cost ratio",
	func(cpuSecs, idleCores, wallSecs float64, accepted int, rawMsPerAppend, wantMs, wantRatio float64) {
		at := time.Unix(1000, 0)
		before := cpuSample{at: at, byName: map[string]float64{procAPIServer: 10}}
		after := cpuSample{at: at.Add(time.Duration(wallSecs * float64(time.Second))),
			byName: map[string]float64{procAPIServer: 10 + cpuSecs}}
		st := stepResult{Accepted: accepted}
		st.cost(before, after, idleCores, rawResult{APIServerCPUMsPerAppend: rawMsPerAppend})
		Expect(st.APIServerCPUMsPerUpdate).To(Equal(wantMs))
		Expect(st.CostRatio).To(Equal(wantRatio))
	},
	Entry("idle CPU is taken off before dividing", 12.0, 0.1, 20.0, 2000, 2.0, 5.0, 2.5),
	Entry("an update that costs one raw append is 1.0", 2.0, 0.0, 10.0, 1000, 2.0, 2.0, 1.0),
	Entry("no accepted update: no figures", 5.0, 0.1, 10.0, 0, 2.0, 0.0, 0.0),
	Entry("no raw figure: no ratio", 4.0, 0.0, 10.0, 1000, 0.0, 4.0, 0.0),
)
