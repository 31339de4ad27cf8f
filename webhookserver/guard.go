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
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"time"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
	"github.com/parcelops/parcel-operator/internal/courierauth"
	"github.com/parcelops/parcel-operator/internal/ratelimit"
	"github.com/parcelops/parcel-operator/internal/signature"
)

// GuardOptions configure what the courier API admits.
type GuardOptions struct {
	// SignatureTolerance is how far a signature's timestamp may be from
	// the server's clock.
	SignatureTolerance time.Duration
	// ReplayCapacity bounds the signatures remembered against replay.
	ReplayCapacity int
	// MaxConcurrentWrites caps the API-server writes in flight from this
	// replica; one courier may hold at most half of them.
	MaxConcurrentWrites int
	// WriteWait is how long a write may wait for a slot before the request
	// is answered 429.
	WriteWait time.Duration
	// UnauthenticatedRate and UnauthenticatedBurst bound, per client
	// address, the requests that fail authentication; past them every
	// request from that address is refused before its credentials are
	// looked at.
	UnauthenticatedRate  float64
	UnauthenticatedBurst int
	// MaxClients bounds the client addresses tracked at once.
	MaxClients int
	// TrustedProxies are the addresses of proxies in front of the server
	// (an ingress controller, a load balancer). A request from one of them
	// is attributed to the last address in X-Forwarded-For that is not a
	// trusted proxy; X-Forwarded-For from anyone else is ignored.
	TrustedProxies []netip.Prefix
}

// DefaultGuardOptions are the limits a server runs with unless configured.
func DefaultGuardOptions() GuardOptions {
	return GuardOptions{
		SignatureTolerance:   signature.DefaultTolerance,
		ReplayCapacity:       signature.DefaultReplayCapacity,
		MaxConcurrentWrites:  64,
		WriteWait:            time.Second,
		UnauthenticatedRate:  1,
		UnauthenticatedBurst: 10,
		MaxClients:           100_000,
	}
}

// Guard is the courier API's admission state: the signatures seen, the
// rate buckets, the write slots. One per server.
type Guard struct {
	opts       GuardOptions
	signatures *signature.Verifier
	couriers   *ratelimit.Buckets
	clients    *ratelimit.Buckets
	writes     *ratelimit.Writes
}

// NewGuard returns a Guard enforcing opts.
func NewGuard(opts GuardOptions) *Guard {
	return &Guard{
		opts: opts,
		signatures: &signature.Verifier{
			Tolerance: opts.SignatureTolerance,
			Memory:    signature.NewReplayMemory(opts.ReplayCapacity),
		},
		couriers: &ratelimit.Buckets{MaxKeys: opts.MaxClients},
		clients:  &ratelimit.Buckets{MaxKeys: opts.MaxClients},
		writes:   ratelimit.NewWrites(opts.MaxConcurrentWrites, max(1, opts.MaxConcurrentWrites/2), opts.WriteWait),
	}
}

// Reasons a request is refused before its handler runs, as the refusals
// metric labels them.
const (
	refusedClientLimit  = "client-rate"
	refusedCourierLimit = "courier-rate"
	refusedWritesBusy   = "writes-busy"
	refusedSignature    = "signature"
	refusedReplayFull   = "replay-memory-full"
)

// admitClient refuses a request from an address that failed authentication
// too often, before anything else is done with it.
func (g *Guard) admitClient(r *http.Request, now time.Time) error {
	if empty, wait := g.clients.Empty(g.clientAddress(r), now); empty {
		return tooManyRequests(refusedClientLimit, wait,
			"too many requests from this address failed authentication; retry after the delay given in Retry-After")
	}
	return nil
}

// failedAuthentication counts an authentication failure against the
// client's address.
func (g *Guard) failedAuthentication(r *http.Request, now time.Time) {
	g.clients.Allow(g.clientAddress(r), g.opts.UnauthenticatedRate, g.opts.UnauthenticatedBurst, now)
}

// admitCourier takes a token from the courier's bucket.
func (g *Guard) admitCourier(c *trackingv1alpha1.Courier, now time.Time) error {
	perSecond, burst := c.Rate()
	if ok, wait := g.couriers.Allow(string(c.UID), perSecond, burst, now); !ok {
		return tooManyRequests(refusedCourierLimit, wait, fmt.Sprintf(
			"this courier may send %g requests per second (bursts of %d); retry after the delay given in Retry-After",
			perSecond, burst))
	}
	return nil
}

// admitBatch takes from the courier's bucket the tokens of a batch of n
// updates beyond the one admitCourier took: a batch counts as n requests.
// A batch larger than the courier's burst can never be admitted: 413.
func (g *Guard) admitBatch(c *trackingv1alpha1.Courier, n int, now time.Time) error {
	perSecond, burst := c.Rate()
	if n > burst {
		detail := fmt.Sprintf("a batch of %d updates counts as %d requests, more than this courier's burst of %d; "+
			"send at most %d updates per batch", n, n, burst, burst)
		return &Problem{Status: http.StatusRequestEntityTooLarge, Type: slugTooLarge, Title: titleTooLarge, Detail: detail,
			Fields: []FieldError{{Field: fieldBatch, Detail: detail}}}
	}
	if n <= 1 {
		return nil
	}
	if ok, wait := g.couriers.AllowN(string(c.UID), perSecond, burst, now, n-1); !ok {
		return tooManyRequests(refusedCourierLimit, wait, fmt.Sprintf(
			"a batch of %d updates counts as %d requests, and this courier may send %g requests per second (bursts of %d); "+
				"retry after the delay given in Retry-After", n, n, perSecond, burst))
	}
	return nil
}

// acquireWrite takes one of the write slots for the courier.
func (g *Guard) acquireWrite(ctx context.Context, c *trackingv1alpha1.Courier) (func(), error) {
	release, err := g.writes.Acquire(ctx, string(c.UID))
	if errors.Is(err, ratelimit.ErrBusy) {
		return nil, tooManyRequests(refusedWritesBusy, time.Second,
			"the server is writing as many updates as it allows at once; retry after the delay given in Retry-After")
	}
	if err != nil {
		return nil, unavailable("the Kubernetes API", err)
	}
	return release, nil
}

// caller is an authenticated request.
type caller struct {
	*trackingv1alpha1.Courier
	pending *signature.Pending
	now     func() time.Time
}

// beginSignature checks the request's signature header, when the courier
// signs, and arranges for the body to be hashed as the handler reads it.
func (g *Guard) beginSignature(r *http.Request, id *courierauth.Identity, now time.Time) (*caller, error) {
	c := &caller{Courier: id.Courier}
	if len(id.SigningKeys) == 0 {
		return c, nil
	}
	values := r.Header.Values(signature.Header)
	if len(values) > 1 {
		return nil, signatureRefused(fmt.Errorf("%w: it is sent more than once", signature.ErrMalformed))
	}
	header := ""
	if len(values) == 1 {
		header = values[0]
	}
	pending, err := g.signatures.Begin(header, id.SigningKeys, now)
	if err != nil {
		return nil, signatureRefused(err)
	}
	c.pending = pending
	r.Body = struct {
		io.Reader
		io.Closer
	}{io.TeeReader(r.Body, pending), r.Body}
	return c, nil
}

// verifyBody reads what is left of the body and checks the signature over
// all of it. Handlers call it once the body is parsed and before anything
// is written; it is a no-op for couriers that do not sign.
func (c *caller) verifyBody(body io.Reader) error {
	if c.pending == nil {
		return nil
	}
	if _, err := io.Copy(io.Discard, body); err != nil {
		return &Problem{Status: http.StatusBadRequest, Type: slugInvalid, Title: titleInvalid,
			Detail: "the request body could not be read to its end", cause: err}
	}
	wait, err := c.pending.Finish(c.now())
	if errors.Is(err, signature.ErrMemoryFull) {
		return tooManyRequests(refusedReplayFull, wait,
			"too many signed requests arrived inside the signature window; retry after the delay given in Retry-After")
	}
	if err != nil {
		return signatureRefused(err)
	}
	return nil
}

// signatureRefused is the 401 for a signature that does not verify. The
// reason is told: it names no key and repeats nothing the client sent.
func signatureRefused(err error) *Problem {
	p := newProblem(http.StatusUnauthorized, "signature-invalid", "Invalid signature", err.Error())
	p.refusal = refusedSignature
	return p
}

// tooManyRequests is the 429 answer with Retry-After.
func tooManyRequests(reason string, wait time.Duration, detail string) *Problem {
	p := newProblem(http.StatusTooManyRequests, "rate-limited", "Too many requests", detail)
	p.retryAfter = wait
	p.refusal = reason
	return p
}

// clientAddress is the address a request comes from: its peer, or, when
// the peer is a trusted proxy, the last address in X-Forwarded-For that is
// not one. Without trusted proxies, every request through a proxy counts
// as the proxy's.
func (g *Guard) clientAddress(r *http.Request) string {
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	addr := peer.Addr().Unmap()
	if !g.trusted(addr) {
		return addr.String()
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		hop, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		if addr = hop.Unmap(); !g.trusted(addr) {
			break
		}
	}
	return addr.String()
}

func (g *Guard) trusted(addr netip.Addr) bool {
	for _, p := range g.opts.TrustedProxies {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}
