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
	"errors"
	"fmt"
	"net/netip"
	"syscall"
)

// AddressPolicy says which addresses subscribers may have. It is checked
// on the address a connection is about to be made to, after DNS, so a name
// that resolves (or is rebound) to a refused address is refused too.
type AddressPolicy struct {
	// AllowPrivate permits private networks: 10/8, 172.16/12, 192.168/16,
	// 100.64/10 and fc00::/7.
	AllowPrivate bool
	// AllowLoopback permits 127/8 and ::1, for a receiver on a developer's
	// machine (make dev).
	AllowLoopback bool
}

// ErrAddressRefused is wrapped by every refusal of the policy.
var ErrAddressRefused = errors.New("address refused")

// metadataAddresses are cloud metadata services outside the link-local
// range (which is always refused): refused even when private networks are
// allowed.
var metadataAddresses = []netip.Addr{
	netip.MustParseAddr("fd00:ec2::254"),   // AWS IMDS over IPv6
	netip.MustParseAddr("100.100.100.200"), // Alibaba Cloud
}

var privatePrefixes = []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.168.0.0/16"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("fc00::/7"),
}

// alwaysRefused are "this network" and the reserved 240/4 with broadcast.
var alwaysRefused = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("240.0.0.0/4"),
}

// Check says whether a subscriber may be at addr, and why not.
func (p AddressPolicy) Check(addr netip.Addr) error {
	addr = addr.Unmap()
	refuse := func(what string) error { return fmt.Errorf("%w: %s is %s", ErrAddressRefused, addr, what) }
	switch {
	case !addr.IsValid():
		return fmt.Errorf("%w: not an IP address", ErrAddressRefused)
	case addr.IsUnspecified():
		return refuse("unspecified")
	case addr.IsLinkLocalUnicast():
		return refuse("link-local (cloud metadata services live there)")
	case addr.IsMulticast(), addr.IsInterfaceLocalMulticast(), addr.IsLinkLocalMulticast():
		return refuse("multicast")
	case addr.IsLoopback() && !p.AllowLoopback:
		return refuse("loopback (the operator allows it with --notification-allow-loopback)")
	}
	for _, m := range metadataAddresses {
		if addr == m {
			return refuse("a cloud metadata service")
		}
	}
	for _, pre := range alwaysRefused {
		if pre.Contains(addr) {
			return refuse("reserved")
		}
	}
	if !p.AllowPrivate {
		for _, pre := range privatePrefixes {
			if pre.Contains(addr) {
				return refuse("private (the operator allows private networks with --notification-allow-private-networks)")
			}
		}
	}
	return nil
}

// Control is a net.Dialer Control function enforcing the policy on the
// resolved address of every connection, redirects and retries included.
func (p AddressPolicy) Control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %q is not an IP address and port", ErrAddressRefused, address)
	}
	return p.Check(ap.Addr())
}
