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
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Words the refusals say, by kind of address.
const (
	wLoopback    = "loopback"
	wLinkLocal   = "link-local"
	wMetadata    = "metadata"
	wUnspecified = "unspecified"
	wReserved    = "reserved"
	wMulticast   = "multicast"
	wPrivate     = "private"
)

func TestAddressPolicy(t *testing.T) {
	strict := AddressPolicy{}
	private := AddressPolicy{AllowPrivate: true}
	dev := AddressPolicy{AllowLoopback: true}
	cases := []struct {
		addr                 string
		strict, private, dev string // "" when allowed, else a word of the refusal
	}{
		{"93.184.215.14", "", "", ""},
		{"2606:2800:21f:cb07:6820:80da:af6b:8b2c", "", "", ""},
		{"127.0.0.1", wLoopback, wLoopback, ""},
		{"127.8.9.10", wLoopback, wLoopback, ""},
		{"::1", wLoopback, wLoopback, ""},
		{"::ffff:127.0.0.1", wLoopback, wLoopback, ""},
		{"169.254.169.254", wLinkLocal, wLinkLocal, wLinkLocal},
		{"169.254.10.1", wLinkLocal, wLinkLocal, wLinkLocal},
		{"fe80::1", wLinkLocal, wLinkLocal, wLinkLocal},
		{"fd00:ec2::254", wMetadata, wMetadata, wMetadata},
		{"100.100.100.200", wMetadata, wMetadata, wMetadata},
		{"0.0.0.0", wUnspecified, wUnspecified, wUnspecified},
		{"::", wUnspecified, wUnspecified, wUnspecified},
		{"0.1.2.3", wReserved, wReserved, wReserved},
		{"255.255.255.255", wReserved, wReserved, wReserved},
		{"224.0.0.1", wMulticast, wMulticast, wMulticast},
		{"ff02::1", wMulticast, wMulticast, wMulticast},
		{"10.1.2.3", wPrivate, "", wPrivate},
		{"172.16.0.1", wPrivate, "", wPrivate},
		{"172.31.255.255", wPrivate, "", wPrivate},
		{"172.32.0.1", "", "", ""},
		{"192.168.1.1", wPrivate, "", wPrivate},
		{"100.64.0.1", wPrivate, "", wPrivate},
		{"fd12:3456::1", wPrivate, "", wPrivate},
		{"::ffff:10.0.0.1", wPrivate, "", wPrivate},
	}
	for _, tc := range cases {
		addr := netip.MustParseAddr(tc.addr)
		for _, p := range []struct {
			name   string
			policy AddressPolicy
			want   string
		}{{"strict", strict, tc.strict}, {"private", private, tc.private}, {"dev", dev, tc.dev}} {
			err := p.policy.Check(addr)
			switch {
			case p.want == "" && err != nil:
				t.Errorf("%s policy refuses %s: %v", p.name, tc.addr, err)
			case p.want != "" && (err == nil || !errors.Is(err, ErrAddressRefused) || !strings.Contains(err.Error(), p.want)):
				t.Errorf("%s policy on %s = %v, want a refusal saying %q", p.name, tc.addr, err, p.want)
			}
		}
	}
}

// The policy is enforced on the address dialled, after DNS: a name that
// resolves to loopback is refused like the address itself, and nothing
// reaches the server.
func TestControlRefusesResolvedAddresses(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, url := range []string{srv.URL, "http://localhost:" + port} {
		hc := newHTTPClient(Endpoint{URL: url, Timeout: 5 * time.Second}, AddressPolicy{}, 1)
		r := post(ctx, hc, Endpoint{URL: url, Timeout: 5 * time.Second}, "id", []byte("{}"), time.Now())
		if !r.refused || !r.retry || !errors.Is(r.err, ErrAddressRefused) {
			t.Errorf("POST %s under the strict policy = %+v, want refused", url, r)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the server got %d requests", n)
	}

	hc := newHTTPClient(Endpoint{URL: srv.URL, Timeout: 5 * time.Second}, AddressPolicy{AllowLoopback: true}, 1)
	if r := post(ctx, hc, Endpoint{URL: srv.URL, Timeout: 5 * time.Second}, "id", []byte("{}"), time.Now()); r.err != nil || hits.Load() != 1 {
		t.Fatalf("POST with loopback allowed = %+v, %d hits; want delivered", r, hits.Load())
	}
}

// Redirects are answers, never followed.
func TestRedirectsAreNotFollowed(t *testing.T) {
	var target atomic.Int32
	dest := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { target.Add(1) }))
	defer dest.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, dest.URL, http.StatusTemporaryRedirect)
	}))
	defer srv.Close()
	ep := Endpoint{URL: srv.URL, Timeout: 5 * time.Second}
	r := post(context.Background(), newHTTPClient(ep, AddressPolicy{AllowLoopback: true}, 1), ep, "id", []byte("{}"), time.Now())
	if r.code != http.StatusTemporaryRedirect || r.retry || target.Load() != 0 {
		t.Fatalf("POST to a redirect = %+v with %d requests to its target; want a 307 refused, not followed", r, target.Load())
	}
}

func TestControlNeedsAnAddress(t *testing.T) {
	if err := (AddressPolicy{}).Control("tcp", "example.com:443", nil); !errors.Is(err, ErrAddressRefused) {
		t.Fatalf("Control on a name = %v, want a refusal", err)
	}
}
