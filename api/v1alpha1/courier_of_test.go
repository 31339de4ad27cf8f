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

package v1alpha1_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
)

var _ = Describe("CourierOf", func() {
	at := func(source string, minute int, force bool) trackingv1alpha1.TrackingEvent {
		return trackingv1alpha1.TrackingEvent{
			ID: source + "-" + time.Duration(minute).String(), Status: inTransit, Source: source, Force: force,
			Time: metav1.NewTime(time.Date(2025, 10, 8, 7, minute, 0, 0, time.UTC)),
		}
	}
	DescribeTable("names the source of the latest event that is not a correction",
		func(want string, events ...trackingv1alpha1.TrackingEvent) {
			Expect(trackingv1alpha1.CourierOf(events)).To(Equal(want))
		},
		Entry("no events", ""),
		Entry("one courier", "acme", at("acme", 0, false)),
		Entry("a hand-over: the later courier", "fast", at("acme", 0, false), at("fast", 5, false)),
		Entry("in event time, not arrival order", "fast", at("fast", 5, false), at("acme", 0, false)),
		Entry("at the same time, the later to arrive", "fast", at("acme", 5, false), at("fast", 5, false)),
		Entry("a forced correction by a person does not count", "acme", at("acme", 0, false), at("ops@example.com", 9, true)),
		Entry("an event without a source does not count", "acme", at("acme", 0, false), at("", 9, false)),
		Entry("only corrections", "", at("ops@example.com", 9, true)),
	)
})
