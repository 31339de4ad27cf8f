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

package s3test_test

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/parcelops/parcel-operator/internal/s3test"
)

func TestS3test(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "s3test")
}

var _ = Describe("the versitygw test server", func() {
	It("tells the developer how to build it when VERSITYGW is unset", func(ctx SpecContext) {
		GinkgoT().Setenv("VERSITYGW", "")
		_, err := s3test.Start(ctx)
		Expect(err).To(MatchError(ContainSubstring("make s3server")))
	})

	It("tells the developer how to build it when VERSITYGW names no binary", func(ctx SpecContext) {
		GinkgoT().Setenv("VERSITYGW", "/nonexistent/versitygw")
		_, err := s3test.Start(ctx)
		Expect(err).To(MatchError(ContainSubstring("make s3server")))
	})

	It("serves on loopback, and comes back on the same port with the same data", func(ctx SpecContext) {
		srv, err := s3test.Start(ctx)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(srv.Close)

		u, err := url.Parse(srv.BucketURL("pods"))
		Expect(err).NotTo(HaveOccurred())
		Expect(u.Scheme).To(Equal("s3"))
		Expect(u.Host).To(Equal("pods"))
		Expect(u.Query()).To(Equal(url.Values{
			"endpoint":       {srv.Endpoint()},
			"use_path_style": {"true"},
			"region":         {"us-east-1"},
		}))
		endpoint, err := url.Parse(srv.Endpoint())
		Expect(err).NotTo(HaveOccurred())
		Expect(endpoint.Hostname()).To(Equal("127.0.0.1"))
		expectNotOnOtherAddresses(endpoint.Port())

		Expect(srv.CreateBucket(ctx, "pods")).To(Succeed())
		Expect(srv.Stop()).To(Succeed())
		Expect(srv.Stop()).To(Succeed(), "stopping a stopped server is a no-op")
		_, err = http.Get(srv.Endpoint())
		Expect(err).To(MatchError(ContainSubstring("connection refused")))

		Expect(srv.Restart()).To(Succeed())
		Expect(srv.Endpoint()).To(Equal(endpoint.String()))
		Expect(srv.MultipartUploads(ctx, "pods")).To(BeEmpty(), "the bucket survived the restart")
		_, err = srv.MultipartUploads(ctx, "never-created")
		Expect(err).To(HaveOccurred())
	})
})

// expectNotOnOtherAddresses dials the port on every non-loopback address of
// this machine and expects a refusal: the server must not be reachable from
// the network.
func expectNotOnOtherAddresses(port string) {
	GinkgoHelper()
	addrs, err := net.InterfaceAddrs()
	Expect(err).NotTo(HaveOccurred())
	for _, a := range addrs {
		ipNet, ok := a.(*net.IPNet)
		if !ok || ipNet.IP.IsLoopback() || ipNet.IP.IsLinkLocalUnicast() {
			continue
		}
		d := net.Dialer{Timeout: time.Second}
		conn, err := d.DialContext(context.Background(), "tcp", net.JoinHostPort(ipNet.IP.String(), port))
		if err == nil {
			_ = conn.Close()
		}
		Expect(err).To(HaveOccurred(), "reachable on %s", ipNet.IP)
	}
}
