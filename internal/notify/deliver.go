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

package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Limits of one delivery.
const (
	// maxErrorBody is how much of a refusal's body lastError quotes.
	maxErrorBody = 512
	// maxDrain is how much of an answer is read before closing it, so the
	// connection can be reused; a subscriber answering more gets it closed.
	maxDrain = 64 << 10
	// maxRetryAfter caps a subscriber's Retry-After.
	maxRetryAfter = time.Hour
	// userAgent names the sender.
	userAgent = "parcel-operator-notifier/v1alpha1"
)

// Endpoint is where and how to deliver one Subscription's notifications,
// built by the Subscription reconciler from its spec and Secrets.
type Endpoint struct {
	URL     string
	Signer  Signer
	Token   string
	Headers http.Header
	// CABundle, when set, holds the PEM certificates that replace the
	// system's roots (spec.caSecretRef).
	CABundle []byte
	Timeout  time.Duration
}

// newHTTPClient returns the client of one endpoint: connections only to
// addresses the policy allows (checked after DNS), no proxy (it would be
// the proxy's address that is checked), no redirects, and every attempt
// bounded by the endpoint's timeout.
func newHTTPClient(ep Endpoint, policy AddressPolicy, conns int) *http.Client {
	dialer := &net.Dialer{Timeout: ep.Timeout, Control: policy.Control}
	var roots *x509.CertPool
	if len(ep.CABundle) > 0 {
		roots = x509.NewCertPool()
		roots.AppendCertsFromPEM(ep.CABundle)
	}
	return &http.Client{
		Transport: &http.Transport{
			DialContext:           dialer.DialContext,
			TLSClientConfig:       &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
			TLSHandshakeTimeout:   ep.Timeout,
			ResponseHeaderTimeout: ep.Timeout,
			MaxIdleConnsPerHost:   conns,
			IdleConnTimeout:       90 * time.Second,
			ForceAttemptHTTP2:     true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       ep.Timeout,
	}
}

// result is what one attempt came to.
type result struct {
	// code is the HTTP status answered; 0 when there was no answer.
	code int
	// err says why the attempt failed; nil on a 2xx.
	err error
	// retry is set when the same notification should be tried again.
	retry bool
	// retryAfter is the subscriber's Retry-After, when it gave one.
	retryAfter time.Duration
	// refused is set when the address policy refused the endpoint.
	refused bool
}

// post makes one attempt to deliver body to the endpoint.
func post(ctx context.Context, hc *http.Client, ep Endpoint, id string, body []byte, now time.Time) result {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.URL, bytes.NewReader(body))
	if err != nil {
		return result{err: fmt.Errorf("building the request: %w", err)}
	}
	for name, values := range ep.Headers {
		req.Header[name] = values
	}
	req.Header.Set("Content-Type", ContentType)
	req.Header.Set("User-Agent", userAgent)
	if ep.Token != "" {
		req.Header.Set("Authorization", "Bearer "+ep.Token)
	}
	ep.Signer.Sign(req.Header, id, now, body)

	resp, err := hc.Do(req)
	if err != nil {
		return result{err: err, retry: true, refused: errors.Is(err, ErrAddressRefused)}
	}
	defer func() { _ = resp.Body.Close() }()
	head, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
	return classify(resp.StatusCode, resp.Header, head, now)
}

// classify decides what an answer means: 2xx delivered; 408, 429 and 5xx
// tried again (after Retry-After, when given); anything else refused for
// good, redirects included (they are not followed).
func classify(code int, h http.Header, body []byte, now time.Time) result {
	r := result{code: code}
	switch {
	case code >= 200 && code < 300:
		return r
	case code == http.StatusRequestTimeout, code == http.StatusTooManyRequests, code >= 500:
		r.retry = true
		r.retryAfter = retryAfter(h.Get("Retry-After"), now)
	}
	msg := fmt.Sprintf("answered %d %s", code, http.StatusText(code))
	if loc := h.Get("Location"); code >= 300 && code < 400 && loc != "" {
		msg += fmt.Sprintf(" (redirect to %q not followed)", truncate(loc, maxErrorBody))
	}
	if text := strings.TrimSpace(strings.ToValidUTF8(string(body), "")); text != "" {
		msg += ": " + truncate(text, maxErrorBody)
	}
	r.err = errors.New(msg)
	return r
}

// retryAfter reads a Retry-After header (delay-seconds or an HTTP date);
// 0 when absent or unreadable. It is capped at maxRetryAfter.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		d = time.Duration(min(secs, int64(maxRetryAfter/time.Second))) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return max(0, min(d, maxRetryAfter))
}

// Backoff paces retries of a failing subscriber.
type Backoff struct {
	// Base is the delay after the first failure; it doubles with each.
	Base time.Duration
	// Max caps the delay.
	Max time.Duration
}

// DefaultBackoff starts at a second and never waits more than five
// minutes between attempts.
var DefaultBackoff = Backoff{Base: time.Second, Max: 5 * time.Minute}

// Delay returns the wait after the n-th consecutive failure (n >= 1): half
// of min(Base*2^(n-1), Max) plus a random part up to the other half, so
// the subscribers of a receiver that comes back do not retry in step.
// jitter returns a number in [0, 1).
func (b Backoff) Delay(n int, jitter func() float64) time.Duration {
	d := b.Max
	if n < 1 {
		n = 1
	}
	if n <= 32 && b.Base<<(n-1) > 0 && b.Base<<(n-1) < b.Max {
		d = b.Base << (n - 1)
	}
	return d/2 + time.Duration(jitter()*float64(d/2))
}

// defaultJitter is the jitter of real deliveries.
func defaultJitter() float64 {
	return rand.Float64() //nolint:gosec // jitter needs no cryptographic randomness
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}
