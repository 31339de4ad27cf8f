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

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// StampRecorded sets recordedAt on each verdict of next: the time the prior
// history recorded for the same event id with the same result, or now for a
// verdict that is new or whose result changed. The fold is pure and knows no
// time, so the reconciler stamps its output with this before writing it.
//
// A verdict's recordedAt therefore only moves when its result does, which is
// what the notifier's checkpoint relies on: a verdict recorded at or before
// a subscription's checkpoint has been handled for it.
func StampRecorded(prior, next []EventVerdict, now metav1.Time) {
	type key struct {
		id     string
		result EventResult
	}
	recorded := make(map[key]*metav1.Time, len(prior))
	for i := range prior {
		k := key{prior[i].ID, prior[i].Result}
		if _, ok := recorded[k]; !ok && prior[i].RecordedAt != nil {
			recorded[k] = prior[i].RecordedAt
		}
	}
	for i := range next {
		if t, ok := recorded[key{next[i].ID, next[i].Result}]; ok {
			next[i].RecordedAt = t.DeepCopy()
			continue
		}
		stamp := now
		next[i].RecordedAt = &stamp
	}
}

// WithoutRecorded returns a copy of history without recordedAt, for
// comparing a stored history with the fold's, which knows no time.
func WithoutRecorded(history []EventVerdict) []EventVerdict {
	if history == nil {
		return nil
	}
	out := make([]EventVerdict, len(history))
	for i, v := range history {
		v.RecordedAt = nil
		out[i] = v
	}
	return out
}
