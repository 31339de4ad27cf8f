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
	"net/http"
	"net/netip"
	"testing"
)

func TestClientAddress(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	for _, tc := range []struct {
		name    string
		trusted []netip.Prefix
		remote  string
		xff     []string
		want    string
	}{
		{name: "direct", remote: "203.0.113.7:51000", want: "203.0.113.7"},
		{name: "direct, v6", remote: "[2001:db8::1]:51000", want: "2001:db8::1"},
		{name: "v4-mapped v6 is the v4 address", remote: "[::ffff:203.0.113.7]:1", want: "203.0.113.7"},
		{name: "X-Forwarded-For ignored without trusted proxies", remote: "203.0.113.7:1",
			xff: []string{"198.51.100.1"}, want: "203.0.113.7"},
		{name: "X-Forwarded-For from an untrusted peer ignored", trusted: proxies, remote: "203.0.113.7:1",
			xff: []string{"198.51.100.1"}, want: "203.0.113.7"},
		{name: "through a trusted proxy", trusted: proxies, remote: "10.1.2.3:1",
			xff: []string{"198.51.100.1"}, want: "198.51.100.1"},
		{name: "the client cannot choose its address by prepending", trusted: proxies, remote: "10.1.2.3:1",
			xff: []string{"192.0.2.66, 198.51.100.1"}, want: "198.51.100.1"},
		{name: "through two trusted proxies", trusted: proxies, remote: "10.1.2.3:1",
			xff: []string{"198.51.100.1, 10.9.9.9"}, want: "198.51.100.1"},
		{name: "several headers are one list", trusted: proxies, remote: "10.1.2.3:1",
			xff: []string{"192.0.2.66", "198.51.100.1"}, want: "198.51.100.1"},
		{name: "garbage stops the walk at the last trusted hop", trusted: proxies, remote: "10.1.2.3:1",
			xff: []string{"not-an-address"}, want: "10.1.2.3"},
		{name: "a trusted proxy without the header", trusted: proxies, remote: "[fd00::5]:1", want: "fd00::5"},
		{name: "unparsable peer kept as is", remote: "pipe", want: "pipe"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := DefaultGuardOptions()
			opts.TrustedProxies = tc.trusted
			r := &http.Request{RemoteAddr: tc.remote, Header: http.Header{}}
			for _, v := range tc.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := NewGuard(opts).clientAddress(r); got != tc.want {
				t.Errorf("clientAddress = %q, want %q", got, tc.want)
			}
		})
	}
}
