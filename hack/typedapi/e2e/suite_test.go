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

// Package e2e shows the typed Parcel API server working through
// kube-apiserver's aggregator the way a user and the operator would use
// it: the real kubectl (get, get -w, wait, field selectors) and a
// controller-runtime informer, all on the aggregated path.
package e2e

import (
	"context"
	"os"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	typedv1alpha1 "github.com/parcelops/parcel-operator/hack/typedapi/apis/tracking/v1alpha1"
	"github.com/parcelops/parcel-operator/hack/typedapi/harness"
)

var (
	ctx       context.Context
	cancel    context.CancelFunc
	cluster   *harness.Aggregated
	scheme    = runtime.NewScheme()
	k8sClient client.Client
)

func TestAggregated(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Typed Parcel API server through the aggregator")
}

var _ = BeforeSuite(func() {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		Skip("KUBEBUILDER_ASSETS is not set: run make spike-typed-api, or see hack/typedapi/doc.go")
	}
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	ctx, cancel = context.WithCancel(context.Background())
	utilruntime.Must(typedv1alpha1.AddToScheme(scheme))

	dir := GinkgoT().TempDir()
	bin, err := harness.BuildServer(ctx, dir)
	Expect(err).NotTo(HaveOccurred())
	cluster, err = harness.Start(ctx, dir, bin)
	Expect(err).NotTo(HaveOccurred())
	// Every request of this client goes through kube-apiserver.
	k8sClient, err = client.New(cluster.Config, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())
})

var _ = AfterSuite(func() {
	if cancel != nil {
		cancel()
	}
	if cluster != nil {
		cluster.Stop()
	}
})
