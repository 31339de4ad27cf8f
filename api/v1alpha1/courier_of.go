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

package v1alpha1

// CourierOf names the courier handling a parcel: the source of its latest
// event in event time (of two at the same time, the later to arrive) that
// is not a forced correction. The courier API records the Courier's name as
// the source of every update it writes, and couriers cannot force events, so
// a correction by a person (whose source is the person) never hides the
// courier. "" when no such event names a source.
func CourierOf(events []TrackingEvent) string {
	latest := -1
	for i := range events {
		e := &events[i]
		if e.Force || e.Source == "" {
			continue
		}
		if latest < 0 || !e.Time.Before(&events[latest].Time) {
			latest = i
		}
	}
	if latest < 0 {
		return ""
	}
	return events[latest].Source
}
