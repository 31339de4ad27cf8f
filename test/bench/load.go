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
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// The mix of a courier's updates.
const (
	outOfOrderRate = 0.05
	duplicateRate  = 0.03
	invalidRate    = 0.02
	podSize        = 100 << 10
)

// lifecycle is the statuses of a parcel's life, eight scans as couriers
// spell them: one failed attempt, back to the depot, delivered next time.
var lifecycle = []string{
	"Received in Depo", "Loaded by Driver", "In Transit", "Failed Delivery",
	"RD- Return to depo", "Loaded by Driver", "In Transit", "Delivered",
}

// What every event the benchmark sends or writes says beside its status
// and time.
const (
	scanRemarks = "benchmark scan"
	scanSource  = "bench"
)

// invalidStatus is never an allowed transition once a parcel was scanned.
const invalidStatus = "Not Scanned"

// scan is one update to send.
type scan struct {
	articleID string
	status    string
	time      time.Time
	pod       bool
}

// plan lays out a parcel's updates in the order a courier sends them:
// the lifecycle in order, with an invalid scan slipped in after a scan
// (invalidRate per scan) and neighbours swapped (outOfOrderRate per scan).
func plan(articleID string, start time.Time, rng *rand.Rand) []scan {
	var out []scan
	for i, status := range lifecycle {
		t := start.Add(time.Duration(i) * 10 * time.Minute)
		out = append(out, scan{articleID: articleID, status: status, time: t, pod: status == "Delivered"})
		if i < len(lifecycle)-1 && rng.Float64() < invalidRate {
			out = append(out, scan{articleID: articleID, status: invalidStatus, time: t.Add(time.Minute)})
		}
	}
	for i := 0; i+1 < len(out); i++ {
		if rng.Float64() < outOfOrderRate {
			out[i], out[i+1] = out[i+1], out[i]
			i++
		}
	}
	return out
}

// pdf is the proof of delivery sent with every Delivered scan.
var pdf = func() []byte {
	b := make([]byte, podSize)
	copy(b, "%PDF-1.7\n")
	for i := 9; i < len(b); i++ {
		b[i] = byte('a' + i%26)
	}
	return b
}()

// answer is the part of the courier API's answer the benchmark reads.
type answer struct {
	Result  string `json:"result"`
	Parcel  string `json:"parcel"`
	EventID string `json:"eventId"`
}

// resultDuplicate is the courier API's answer to an update it already
// holds: nothing was written.
const resultDuplicate = "duplicate"

// sample is one request and what became of it.
type sample struct {
	latency  time.Duration
	code     int
	result   string
	podBytes int
	err      bool
}

// driver posts updates to the courier API.
type driver struct {
	url      string
	couriers []courier
	http     *http.Client
	tracker  *tracker
}

// update is the scan as a tracking update's JSON fields.
func (s scan) update() map[string]string {
	return map[string]string{
		"articleId":      s.articleID,
		"track_status":   s.status,
		"track_datetime": s.time.UTC().Format(time.RFC3339),
		"remarks":        scanRemarks,
	}
}

// body encodes a scan as the multipart request couriers send.
func (s scan) body() (string, []byte, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	form, err := json.Marshal(s.update())
	if err != nil {
		return "", nil, fmt.Errorf("encoding form_data: %w", err)
	}
	if err := mw.WriteField("form_data", string(form)); err != nil {
		return "", nil, fmt.Errorf("writing form_data: %w", err)
	}
	if s.pod {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="pod_file"; filename="pod.pdf"`)
		h.Set("Content-Type", "application/pdf")
		part, err := mw.CreatePart(h)
		if err != nil {
			return "", nil, fmt.Errorf("writing pod_file: %w", err)
		}
		if _, err := part.Write(pdf); err != nil {
			return "", nil, fmt.Errorf("writing pod_file: %w", err)
		}
	}
	if err := mw.Close(); err != nil {
		return "", nil, fmt.Errorf("closing the multipart body: %w", err)
	}
	return mw.FormDataContentType(), buf.Bytes(), nil
}

// post sends one request and reports what became of it; an accepted
// update that was written is handed to the tracker.
func (d *driver) post(ctx context.Context, c courier, s scan, contentType string, body []byte) sample {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.url+"/api/v1/webhook/parcel-status", bytes.NewReader(body))
	if err != nil {
		return sample{err: true}
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Authorization", "Bearer "+c.token)
	start := time.Now()
	resp, err := d.http.Do(req)
	if err != nil {
		return sample{err: true, latency: time.Since(start)}
	}
	raw, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	end := time.Now()
	out := sample{latency: end.Sub(start), code: resp.StatusCode, err: err != nil}
	var a answer
	if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusConflict {
		if json.Unmarshal(raw, &a) == nil {
			out.result = a.Result
		}
	}
	if out.accepted() {
		if s.pod {
			out.podBytes = len(pdf)
		}
		if a.Result != resultDuplicate {
			d.tracker.answered(a.Parcel, a.EventID, end)
		}
	}
	return out
}

// accepted says the update is in the API server: 200, or 409 rejected
// (recorded, not applied).
func (s sample) accepted() bool {
	return !s.err && (s.code == http.StatusOK || s.code == http.StatusConflict) && s.result != ""
}

// mix hands out the scans the clients send.
type mix interface {
	// next returns the next scan client w sends and its courier; release
	// is called once every copy of it has been answered.
	next(w int, rng *rand.Rand) (c courier, s scan, release func())
}

// burstMix is today's traffic: each client sends parcel after parcel, a
// parcel's scans back to back, so several updates of one parcel can fold
// into one status write.
type burstMix struct {
	step     string
	couriers []courier
	clients  []burstClient
}

// burstClient is one client's parcel in progress; only that client
// touches it.
type burstClient struct {
	seq  int
	plan []scan
	pos  int
}

func newBurstMix(step string, couriers []courier, concurrency int) *burstMix {
	return &burstMix{step: step, couriers: couriers, clients: make([]burstClient, concurrency)}
}

func (m *burstMix) next(w int, rng *rand.Rand) (courier, scan, func()) {
	c := &m.clients[w]
	if c.pos == len(c.plan) {
		articleID := fmt.Sprintf("B%s%03d%07d", m.step, w, c.seq)
		c.seq++
		// Scan times a day back, so none is in the future.
		c.plan, c.pos = plan(articleID, time.Now().Add(-24*time.Hour), rng), 0
	}
	s := c.plan[c.pos]
	c.pos++
	return m.couriers[w%len(m.couriers)], s, func() {}
}

// drive runs concurrency clients for dur, each sending the scans m hands
// it, some twice. With limit set, requests start no faster than it allows
// (an open-loop rate). With batch set, each request is a batch of that
// many scans (sendBatch).
func (d *driver) drive(ctx context.Context, m mix, concurrency int, dur time.Duration, limit *rate.Limiter,
	batch int) ([]sample, time.Duration) {
	var (
		mu  sync.Mutex
		all []sample
	)
	start := time.Now()
	deadline := start.Add(dur)
	var wg sync.WaitGroup
	for w := range concurrency {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), uint64(start.UnixNano()))) //nolint:gosec // G404: traffic's shape, not a secret
			var mine []sample
			defer func() {
				mu.Lock()
				all = append(all, mine...)
				mu.Unlock()
			}()
			for time.Now().Before(deadline) && ctx.Err() == nil {
				if batch > 0 {
					mine = append(mine, d.sendBatch(ctx, m, w, batch, limit, rng)...)
					continue
				}
				c, s, release := m.next(w, rng)
				mine = append(mine, d.send(ctx, c, s, limit, rng)...)
				release()
			}
		})
	}
	wg.Wait()
	return all, time.Since(start)
}

// sendBatch posts the next n scans m hands client w as one batch (a
// courier flushing a backlog: no files, a retry at duplicateRate inside
// the batch), one sample per update, each with the batch's latency. The
// scans are all the courier's of the first: the burst mix gives a client
// one courier.
func (d *driver) sendBatch(ctx context.Context, m mix, w, n int, limit *rate.Limiter, rng *rand.Rand) []sample {
	var (
		c        courier
		updates  []map[string]string
		releases []func()
	)
	for len(updates) < n {
		cs, s, release := m.next(w, rng)
		if len(updates) == 0 {
			c = cs
		}
		releases = append(releases, release)
		updates = append(updates, s.update())
		if rng.Float64() < duplicateRate && len(updates) < n {
			updates = append(updates, s.update())
		}
	}
	defer func() {
		for _, release := range releases {
			release()
		}
	}()
	body, err := json.Marshal(updates)
	if err != nil {
		return []sample{{err: true}}
	}
	for range updates {
		if limit != nil && limit.Wait(ctx) != nil {
			return []sample{{err: true}}
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.url+"/api/v1/webhook/parcel-status:batch", bytes.NewReader(body))
	if err != nil {
		return []sample{{err: true}}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.token)
	start := time.Now()
	resp, err := d.http.Do(req)
	if err != nil {
		return []sample{{err: true, latency: time.Since(start)}}
	}
	raw, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	end := time.Now()
	var a struct {
		Results []struct {
			Code   int     `json:"code"`
			Answer *answer `json:"answer"`
		} `json:"results"`
	}
	if err != nil || json.Unmarshal(raw, &a) != nil || len(a.Results) != len(updates) {
		return []sample{{err: true, code: resp.StatusCode, latency: end.Sub(start)}}
	}
	out := make([]sample, len(a.Results))
	for i, r := range a.Results {
		out[i] = sample{latency: end.Sub(start), code: r.Code}
		if r.Answer == nil {
			continue
		}
		out[i].result = r.Answer.Result
		if out[i].accepted() && r.Answer.Result != resultDuplicate {
			d.tracker.answered(r.Answer.Parcel, r.Answer.EventID, end)
		}
	}
	return out
}

// send posts one scan, twice at duplicateRate (an exact retry).
func (d *driver) send(ctx context.Context, c courier, s scan, limit *rate.Limiter, rng *rand.Rand) []sample {
	contentType, body, err := s.body()
	if err != nil {
		return []sample{{err: true}}
	}
	sends := 1
	if rng.Float64() < duplicateRate {
		sends = 2
	}
	var out []sample
	for range sends {
		if limit != nil && limit.Wait(ctx) != nil {
			break
		}
		out = append(out, d.post(ctx, c, s, contentType, body))
	}
	return out
}
