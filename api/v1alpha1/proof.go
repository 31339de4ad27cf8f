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

// Proofs returns, for every event id that has a proof-of-delivery file, the
// index in events of the event whose file it is: the first event with that
// id that carries a file, whichever occurrence of the id that is.
//
// A courier often sends a Delivered scan first and its proof of delivery a
// minute later, as the same update again with the file. The second call is
// recorded as a repeat of the event (same id, a Duplicate in the fold, so no
// verdict changes) that carries the file, and that file proves the event.
// A file on a later occurrence of an id that already has one is never used:
// the courier API refuses a different file and answers the same one as a
// duplicate, and a copy two replicas staged racing is garbage. The
// reconciler, the staging sweeper, the archive, the notifier, the courier
// API and kubectl parcel all ask this one function which file is an event's.
func Proofs(events []TrackingEvent) map[string]int {
	var proofs map[string]int
	for i := range events {
		if events[i].ProofOfDelivery == nil {
			continue
		}
		if _, ok := proofs[events[i].ID]; ok {
			continue
		}
		if proofs == nil {
			proofs = make(map[string]int)
		}
		proofs[events[i].ID] = i
	}
	return proofs
}

// ProofOf returns the file that proves the event id (see Proofs), nil when
// no occurrence of the id carries one.
func ProofOf(events []TrackingEvent, id string) *ProofOfDeliveryUpload {
	for i := range events {
		if events[i].ID == id && events[i].ProofOfDelivery != nil {
			return events[i].ProofOfDelivery
		}
	}
	return nil
}
