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

// Command receiver is a subscriber to run on a developer's machine: it
// verifies each notification's Standard Webhooks signature with the
// standard-webhooks library, prints the CloudEvent, and says when an id
// comes again (a retry or a resend). README "Notifications" uses it with
// make dev.
//
//	go run ./hack/receiver --addr 127.0.0.1:9000 --key "$(cat bin/dev/receiver.key)"
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"sync"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// maxBody is the largest notification accepted.
const maxBody = 1 << 20

func main() {
	addr := flag.String("addr", "127.0.0.1:9000", "address to listen on")
	key := flag.String("key", os.Getenv("RECEIVER_SIGNING_KEY"), "the Subscription's signing key, whsec_…")
	flag.Parse()
	wh, err := standardwebhooks.NewWebhook(*key)
	if err != nil || *key == "" {
		log.Fatalf("--key: want the whsec_ signing key of the Subscription's Secret")
	}

	var mu sync.Mutex
	seen := map[string]int{}
	http.HandleFunc("POST /", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		if err != nil {
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		if err := wh.Verify(body, r.Header); err != nil {
			log.Printf("refused a notification: %v", err)
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var ev struct {
			ID      string `json:"id"`
			Type    string `json:"type"`
			Subject string `json:"subject"`
			Data    struct {
				Status          struct{ Display string } `json:"status"`
				PreviousStatus  struct{ Display string } `json:"previousStatus"`
				Reason          string                   `json:"reason"`
				ProofOfDelivery *struct {
					URL    string `json:"url"`
					SHA256 string `json:"sha256"`
				} `json:"proofOfDelivery"`
			} `json:"data"`
		}
		if err := json.Unmarshal(body, &ev); err != nil {
			http.Error(w, "not a CloudEvent", http.StatusBadRequest)
			return
		}
		mu.Lock()
		seen[ev.ID]++
		n := seen[ev.ID]
		mu.Unlock()
		again := ""
		if n > 1 {
			again = fmt.Sprintf(" (again: %d times)", n)
		}
		line := fmt.Sprintf("%s %s %s: %s -> %s", time.Now().Format(time.TimeOnly), ev.Type, ev.Subject,
			ev.Data.PreviousStatus.Display, ev.Data.Status.Display)
		if ev.Data.Reason != "" {
			line += " refused: " + ev.Data.Reason
		}
		if p := ev.Data.ProofOfDelivery; p != nil {
			line += fmt.Sprintf(" stored at %s sha256 %s", p.URL, p.SHA256)
		}
		fmt.Println(line + " signature ok" + again)
		w.WriteHeader(http.StatusNoContent)
	})
	log.Printf("receiving on http://%s/", *addr)
	srv := &http.Server{Addr: *addr, ReadHeaderTimeout: 5 * time.Second}
	log.Fatal(srv.ListenAndServe())
}
