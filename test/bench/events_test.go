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
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

var _ = Describe("a step's Kubernetes Events", func() {
	// Two scrapes of the manager's metrics, as manager.scrape prints them.
	before := metrics{
		`parcel_kube_events_recorded_total{type="Normal"}`:            100,
		`parcel_kube_events_recorded_total{type="Warning"}`:           5,
		`parcel_kube_event_writes_total{result="created"}`:            90,
		`parcel_kube_event_writes_total{result="patched"}`:            3,
		`parcel_kube_event_writes_total{result="updated"}`:            0,
		`parcel_kube_event_writes_total{result="error"}`:              1,
		`parcel_kube_event_write_duration_seconds_sum`:                1.0,
		`parcel_kube_event_write_duration_seconds_count`:              94,
		`parcel_kube_event_write_duration_seconds_bucket{le="0.001"}`: 10,
	}

	It("counts what was recorded, written and failed during the step, and the mean write", func() {
		after := metrics{
			`parcel_kube_events_recorded_total{type="Normal"}`:            400,
			`parcel_kube_events_recorded_total{type="Warning"}`:           25,
			`parcel_kube_event_writes_total{result="created"}`:            250,
			`parcel_kube_event_writes_total{result="patched"}`:            13,
			`parcel_kube_event_writes_total{result="updated"}`:            0,
			`parcel_kube_event_writes_total{result="error"}`:              3,
			`parcel_kube_event_write_duration_seconds_sum`:                3.4,
			`parcel_kube_event_write_duration_seconds_count`:              266,
			`parcel_kube_event_write_duration_seconds_bucket{le="0.001"}`: 50,
		}
		var st stepResult
		st.events(before, after)
		Expect(st.EventsRecorded).To(Equal(320))
		// Creates and patches; errors are not written.
		Expect(st.EventsWritten).To(Equal(170))
		Expect(st.EventWriteErrors).To(Equal(2))
		// 2.4 s over 172 writes.
		Expect(st.EventWriteMsMean).To(BeNumerically("~", 2400.0/172, 1e-9))
	})

	It("has no mean write time for a step without writes", func() {
		var st stepResult
		st.events(before, before)
		Expect(st.EventsRecorded).To(BeZero())
		Expect(st.EventsWritten).To(BeZero())
		Expect(st.EventWriteMsMean).To(BeZero())
	})
})
