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
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
)

// Client pacing.
const (
	// requestTimeout is longer than the courier API's own 20 s, so the
	// server always answers first.
	requestTimeout = 30 * time.Second
	// transportRetry is the wait after a refused connection (no replica
	// listening on that address).
	transportRetry = 500 * time.Millisecond
	// defaultRetryAfter is used when a 503 comes without Retry-After, which
	// is itself counted as a failure.
	defaultRetryAfter = 5 * time.Second
	// pace is each courier's pause between updates: four couriers post
	// about 30 updates a second, steady load that leaves the shared CPUs
	// to the system under test.
	pace = 100 * time.Millisecond
)

// scan is one update a courier posts.
type scan struct {
	articleID string
	status    string
	time      time.Time
	pod       []byte
}

// life is one parcel's updates, in the order the courier sends them.
type life struct {
	articleID string
	scans     []scan
	// abandonOn503 makes the courier give up on the parcel the first time
	// an update carrying a file is answered 503: a courier that does not
	// retry, leaving its staged upload behind.
	abandonOn503 bool
	// once makes the courier give up on any failure, a refused connection
	// included: a courier that tries each update once.
	once bool
}

// podSize is the size of the small PDFs couriers attach.
const podSize = 24 << 10

// newLife builds the i-th parcel of a run: about 5 scans in order, with
// variations drawn from i (out of order, a failed attempt, a re-sent scan,
// no file, the file sent after its scan).
func newLife(prefix string, i int) life {
	id := fmt.Sprintf("%s%06d", prefix, i)
	t0 := time.Date(2025, 10, 8, 6, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Minute)
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	l := life{articleID: id}
	l.scans = []scan{
		{id, "Received in Depo", at(0), nil},
		{id, "Loaded by Driver", at(30), nil},
		{id, "In Transit", at(60), nil},
	}
	if i%4 == 1 {
		l.scans = append(l.scans, scan{id, "Failed Delivery", at(120), nil}, scan{id, "In Transit", at(150), nil})
	}
	var pod []byte
	if i%3 != 2 {
		pod = pdf(podSize)
	}
	if i%6 == 4 {
		// The proof of delivery sent a minute after its scan: the same
		// update again, with the file.
		l.scans = append(l.scans, scan{id, "Delivered", at(180), nil})
	}
	l.scans = append(l.scans, scan{id, "Delivered", at(180), pod})
	if i%5 == 3 {
		// Loaded before Received: answered 409, applied once Received lands.
		l.scans[0], l.scans[1] = l.scans[1], l.scans[0]
	}
	if i%7 == 0 {
		// A courier re-sending a scan it already got an answer to.
		l.scans = append(l.scans[:3], append([]scan{l.scans[2]}, l.scans[3:]...)...)
	}
	l.abandonOn503 = i%4 == 0
	return l
}

func pdf(size int) []byte {
	b := make([]byte, size)
	_, _ = rand.Read(b)
	return append([]byte("%PDF-1.7\n"), b...)
}

func sha(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// answer is the part of the courier API's answer the ledger needs.
type answer struct {
	Result          string `json:"result"`
	Parcel          string `json:"parcel"`
	EventID         string `json:"eventId"`
	ProofOfDelivery string `json:"proofOfDelivery"`
}

// sentPOD is a file a courier sent with an update that was acknowledged.
type sentPOD struct {
	articleID, eventID, sha256 string
	size                       int
	// staged says the answer was "staged": this call's file is the proof
	// (not a retry's, which finds its file recorded).
	staged bool
}

// ledger is what the couriers of one scenario sent and were told.
type ledger struct {
	mu sync.Mutex
	// acked: article ID -> event ids answered 2xx or 409 (recorded).
	acked map[string]map[string]bool
	// articles lists every article ID a courier posted for.
	articles map[string]bool
	pods     []sentPOD
	// abandoned are updates with a file given up after a 503.
	abandoned []sentPOD
	// codes counts answers by HTTP status.
	codes map[int]int
	// noRetryAfter counts 503s without a Retry-After header.
	noRetryAfter int
	// transport counts requests that got no answer at all.
	transport int
	// unexpected describes answers no fault should cause.
	unexpected []string
	// first503 and last503 bound the time clients were told to retry.
	first503, last503 time.Time
}

func newLedger() *ledger {
	return &ledger{acked: map[string]map[string]bool{}, articles: map[string]bool{}, codes: map[int]int{}}
}

func (l *ledger) ackedCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, ids := range l.acked {
		n += len(ids)
	}
	return n
}

func (l *ledger) count(code int) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.codes[code]
}

// load is a set of couriers posting parcel lives concurrently until stopped.
type load struct {
	prefix  string
	urls    []string
	ledger  *ledger
	next    atomic.Int64
	stopped atomic.Bool
	wg      sync.WaitGroup
	http    *http.Client
}

// startLoad starts clients couriers, each posting one parcel's life after
// another to the given replicas (it moves to the next address when one
// refuses connections, as a Service would route around a dead Pod).
func startLoad(ctx context.Context, prefix string, clients int, urls ...string) *load {
	ld := &load{prefix: prefix, urls: urls, ledger: newLedger(),
		http: &http.Client{Timeout: requestTimeout}}
	for c := range clients {
		ld.wg.Add(1)
		go func() {
			defer GinkgoRecover()
			defer ld.wg.Done()
			url := c % len(urls)
			for !ld.stopped.Load() && ctx.Err() == nil {
				ld.run(ctx, newLife(prefix, int(ld.next.Add(1))), &url)
			}
		}()
	}
	return ld
}

// stop lets each courier finish the parcel it is on, then returns.
func (ld *load) stop() {
	ld.stopped.Store(true)
	ld.wg.Wait()
}

// run posts one parcel's life, each scan until it is recorded.
func (ld *load) run(ctx context.Context, l life, url *int) {
	ld.ledger.mu.Lock()
	ld.ledger.articles[l.articleID] = true
	ld.ledger.mu.Unlock()
	for _, s := range l.scans {
		if !ld.post(ctx, l, s, url) {
			return
		}
		sleep(ctx, pace)
	}
}

// abandon posts one delivery with its file for a new parcel, once, as a
// courier that never retries.
func (ld *load) abandon(ctx context.Context, suffix string) {
	id := ld.prefix + suffix
	l := life{articleID: id, once: true,
		scans: []scan{{id, "Delivered", time.Date(2025, 10, 8, 12, 0, 0, 0, time.UTC), pdf(podSize)}}}
	url := 0
	ld.run(ctx, l, &url)
}

// post sends one scan until it is recorded; false means the courier gave
// up on the parcel.
func (ld *load) post(ctx context.Context, l life, s scan, url *int) bool {
	lg := ld.ledger
	for ctx.Err() == nil {
		code, header, a, err := send(ctx, ld.http, ld.urls[*url], s)
		lg.mu.Lock()
		if err != nil {
			lg.transport++
			if l.once {
				if s.pod != nil {
					lg.abandoned = append(lg.abandoned, sentPOD{articleID: s.articleID,
						eventID: trackingv1alpha1.DeriveEventID(s.articleID, mustStatus(s.status), s.time),
						sha256:  sha(s.pod), size: len(s.pod)})
				}
				lg.mu.Unlock()
				return false
			}
			lg.mu.Unlock()
			*url = (*url + 1) % len(ld.urls)
			sleep(ctx, transportRetry)
			continue
		}
		lg.codes[code]++
		switch code {
		case http.StatusOK, http.StatusConflict:
			if lg.acked[s.articleID] == nil {
				lg.acked[s.articleID] = map[string]bool{}
			}
			lg.acked[s.articleID][a.EventID] = true
			if s.pod != nil {
				lg.pods = append(lg.pods, sentPOD{s.articleID, a.EventID, sha(s.pod), len(s.pod), a.ProofOfDelivery == "staged"})
			}
			lg.mu.Unlock()
			return true
		case http.StatusServiceUnavailable:
			now := time.Now()
			if lg.first503.IsZero() {
				lg.first503 = now
			}
			lg.last503 = now
			wait := defaultRetryAfter
			if secs, err := strconv.Atoi(header.Get("Retry-After")); err == nil && secs > 0 {
				wait = time.Duration(secs) * time.Second
			} else {
				lg.noRetryAfter++
			}
			if s.pod != nil && (l.abandonOn503 || l.once) {
				lg.abandoned = append(lg.abandoned, sentPOD{articleID: s.articleID, eventID: a.EventID,
					sha256: sha(s.pod), size: len(s.pod)})
				lg.mu.Unlock()
				return false
			}
			lg.mu.Unlock()
			sleep(ctx, wait)
		default:
			lg.unexpected = append(lg.unexpected, fmt.Sprintf("%s %s: %d %+v", s.articleID, s.status, code, a))
			lg.mu.Unlock()
			if code >= 500 {
				sleep(ctx, time.Second)
				continue
			}
			return false
		}
	}
	return false
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// send posts one scan as multipart, with its file when it has one. The
// event id is left to the server to derive (from article ID, status and
// time), so a re-sent scan is recognised as the same event.
func send(ctx context.Context, hc *http.Client, baseURL string, s scan) (int, http.Header, answer, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	form, err := json.Marshal(map[string]string{
		"articleId":      s.articleID,
		"track_status":   s.status,
		"track_datetime": s.time.Format(time.RFC3339),
		"remarks":        "fault test",
	})
	if err != nil {
		return 0, nil, answer{}, err
	}
	if err := mw.WriteField("form_data", string(form)); err != nil {
		return 0, nil, answer{}, err
	}
	if s.pod != nil {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="pod_file"; filename="pod.pdf"`)
		h.Set("Content-Type", "application/pdf")
		part, err := mw.CreatePart(h)
		if err != nil {
			return 0, nil, answer{}, err
		}
		if _, err := part.Write(s.pod); err != nil {
			return 0, nil, answer{}, err
		}
	}
	if err := mw.Close(); err != nil {
		return 0, nil, answer{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, baseURL+"/api/v1/webhook/parcel-status", &buf)
	if err != nil {
		return 0, nil, answer{}, err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+courierToken)
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, answer{}, err
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, answer{}, err
	}
	var a answer
	_ = json.Unmarshal(raw, &a)
	if a.EventID == "" && resp.StatusCode == http.StatusServiceUnavailable {
		// A 503 names no event; derive it as the server does, so an
		// abandoned upload can be looked for under its staging key.
		a.EventID = trackingv1alpha1.DeriveEventID(s.articleID, mustStatus(s.status), s.time)
	}
	return resp.StatusCode, resp.Header, a, nil
}

func mustStatus(display string) trackingv1alpha1.TrackingStatus {
	st, err := trackingv1alpha1.ParseTrackingStatus(display)
	if err != nil {
		panic(err)
	}
	return st
}
