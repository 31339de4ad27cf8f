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

package podstore_test

import (
	"bytes"
	"context"
	"strconv"
	"testing"

	"github.com/parcelops/parcel-operator/internal/podstore"
)

// BenchmarkStageMove measures one proof of delivery's way through the store:
// a 100 KiB PDF staged from a request-like stream, then verified and moved,
// on the file:// backend (the local disk, so the figure is the store's own
// cost: hashing twice, copying, fsync-free renames).
func BenchmarkStageMove(b *testing.B) {
	ctx := context.Background()
	store, err := podstore.Open(ctx, "file://"+b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = store.Close() })
	data := pdf(100<<10, 42)
	r := bytes.NewReader(data)

	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		// A new event each time: moving one that is already stored would
		// only verify it.
		eventID := "e" + strconv.Itoa(i)
		i++
		r.Reset(data)
		staged, err := store.Stage(ctx, ns, eventID, struct{ *bytes.Reader }{r}, maxBytes)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := store.Move(ctx, moveRequest(eventID, staged)); err != nil {
			b.Fatal(err)
		}
	}
}
