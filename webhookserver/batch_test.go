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

package webhookserver

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func batchOf(n int) string {
	items := make([]string, n)
	for i := range items {
		items[i] = fmt.Sprintf(`{"articleId":"B%d","track_status":"In Transit"}`, i)
	}
	return "[" + strings.Join(items, ",") + "]"
}

func TestReadBatch(t *testing.T) {
	tests := []struct {
		name, contentType, body string
		// want is the number of raw updates, or want a refusal.
		want    int
		refusal *wantProblem
	}{
		{"one update", mediaTypeJSON, batchOf(1), 1, nil},
		{"the most updates", mediaTypeJSON, batchOf(MaxBatchItems), MaxBatchItems, nil},
		{"with charset and spaces", "application/json; charset=utf-8", " \n" + batchOf(2) + "\n ", 2, nil},
		{"values that are not updates are each checked later", mediaTypeJSON, `[1, "x", null, {}]`, 4, nil},
		{"a duplicate key stays for the update's own check", mediaTypeJSON, `[{"articleId":"A","articleId":"B"}]`, 1, nil},
		{"one update too many", mediaTypeJSON, batchOf(MaxBatchItems + 1), 0,
			refusedWith(http.StatusRequestEntityTooLarge, fieldBatch, "at most 500 updates")},
		{"empty", mediaTypeJSON, `[]`, 0, refused400(fieldBatch, "the batch is empty; send 1 to 500 updates")},
		{"no body", mediaTypeJSON, ``, 0, refused400(fieldBatch, "must be a JSON array")},
		{"an object, not an array", mediaTypeJSON, `{"articleId":"A"}`, 0, refused400(fieldBatch, "must be a JSON array")},
		{"not closed", mediaTypeJSON, `[{"articleId":"A"}`, 0, refused400(fieldBatch, "element 1 of the array is not valid JSON: unexpected end")},
		{"closed as an object", mediaTypeJSON, `[{"articleId":"A"}}`, 0, refused400(fieldBatch, "the JSON array is not closed")},
		{"cut inside an update", mediaTypeJSON, `[{"articleId":"A`, 0, refused400(fieldBatch, "element 0 of the array is not valid JSON")},
		{"bad JSON in the second update", mediaTypeJSON, `[{}, {"a" 1}]`, 0, refused400(fieldBatch, "element 1 of the array is not valid JSON")},
		{"two arrays", mediaTypeJSON, `[{}] [{}]`, 0, refused400(fieldBatch, "more than one JSON array")},
		{"trailing garbage", mediaTypeJSON, `[{}] x`, 0, refused400(fieldBatch, "more than one JSON array")},
		{"multipart", reqMultipartType, batchOf(1), 0,
			refusedWith(http.StatusUnsupportedMediaType, fieldContentType, "application/json with a JSON array")},
		{"no Content-Type", "", batchOf(1), 0, refusedWith(http.StatusUnsupportedMediaType, fieldContentType, "must be sent once")},
		{"another charset", "application/json; charset=latin1", batchOf(1), 0,
			refusedWith(http.StatusUnsupportedMediaType, fieldContentType, "charset")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raws, err := readBatch(newParcelStatusRequest(tc.contentType, tc.body))
			if tc.refusal != nil {
				if p := checkRefusal(t, err, tc.refusal); len(p.Fields) != 1 {
					t.Fatalf("%d field problems, want the one of the batch or its headers", len(p.Fields))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(raws) != tc.want {
				t.Fatalf("read %d updates, want %d", len(raws), tc.want)
			}
		})
	}
}

func TestReadBatchRefusesCompressedBodies(t *testing.T) {
	_, err := readBatch(newParcelStatusRequest(mediaTypeJSON, batchOf(1), "Content-Encoding", "gzip"))
	if p := checkRefusal(t, err, refusedWith(http.StatusUnsupportedMediaType, fieldContentEncoding, "send the body uncompressed")); p.Status != http.StatusUnsupportedMediaType {
		t.Fatalf("status %d", p.Status)
	}
}

// FuzzReadBatch: whatever the body, readBatch returns 1 to MaxBatchItems
// values that are each valid JSON, or a 4xx problem, and never panics.
//
//	go test ./webhookserver -run '^$' -fuzz '^FuzzReadBatch$' -fuzztime 3m -parallel 1
func FuzzReadBatch(f *testing.F) {
	for _, seed := range []string{batchOf(3), `[]`, `[{"a":1}`, `[1,2] [3]`, `[{"articleId":"A\xff"}]`, "[\x00]"} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		raws, err := readBatch(newParcelStatusRequest(mediaTypeJSON, string(body)))
		if err != nil {
			checkFuzzRefusal(t, err, http.StatusBadRequest, http.StatusRequestEntityTooLarge)
			return
		}
		if len(raws) == 0 || len(raws) > MaxBatchItems {
			t.Fatalf("%d updates read", len(raws))
		}
		for i, raw := range raws {
			if !json.Valid(raw) {
				t.Fatalf("update %d is not valid JSON: %q", i, raw)
			}
			// Each goes on to the update's own strict parse.
			if _, err := ParseUpdate(raw, reqReceivedAt, Limits{}); err != nil {
				checkFuzzRefusal(t, err, http.StatusBadRequest, http.StatusRequestEntityTooLarge)
			}
		}
	})
}
