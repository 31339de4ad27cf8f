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

package podstore_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/parcelops/parcel-operator/internal/s3test"
)

func TestPodstore(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "podstore")
}

var (
	// s3Server serves the s3:// specs; s3StartErr says why it is not
	// running, and every s3:// spec fails with it (never skips), so a
	// missing `make s3server` cannot pass for a green run.
	s3Server   *s3test.Server
	s3StartErr error
)

var _ = BeforeSuite(func(ctx SpecContext) {
	s3Server, s3StartErr = s3test.Start(ctx)
	if s3StartErr != nil {
		return
	}
	DeferCleanup(func() { Expect(s3Server.Close()).To(Succeed()) })
	// The code under test reads credentials the way it does in production:
	// from the environment, never from the URL. Restore the developer's own
	// environment afterwards.
	for _, kv := range s3Server.Env() {
		name, _, _ := strings.Cut(kv, "=")
		if old, ok := os.LookupEnv(name); ok {
			DeferCleanup(os.Setenv, name, old)
		} else {
			DeferCleanup(os.Unsetenv, name)
		}
	}
	Expect(s3Server.SetProcessEnv()).To(Succeed())
}, NodeTimeout(time.Minute))

// requireS3 fails the current spec when the S3 server is not running.
func requireS3() {
	GinkgoHelper()
	Expect(s3StartErr).NotTo(HaveOccurred(), "the s3:// specs need the versitygw test server")
}

// ctxTimeout bounds one call to the store so a hung server fails the spec
// instead of the whole run.
func ctxTimeout(ctx context.Context) context.Context {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	DeferCleanup(cancel)
	return ctx
}
