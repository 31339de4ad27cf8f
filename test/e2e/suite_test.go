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

// Package e2e runs the manager binary as a user would: built from source,
// started as its own process against a real control plane and a real S3
// server, driven over HTTP, killed and started again.
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
	"github.com/parcelops/parcel-operator/internal/managerproc"
	"github.com/parcelops/parcel-operator/internal/podstore"
	"github.com/parcelops/parcel-operator/internal/s3test"
	"github.com/parcelops/parcel-operator/internal/testenv"
)

const podBucket = "parcel-pods"

// The ServiceAccount config/rbac binds the manager's roles to, in the
// namespace config/rbac names before config/default renames it.
const (
	serviceAccountNamespace = "system"
	serviceAccountName      = "controller-manager"
)

var (
	ctx        context.Context
	cancel     context.CancelFunc
	controlPl  *envtest.Environment
	k8sClient  client.Client
	kubeconfig string
	// managerKubeconfig impersonates the install's ServiceAccount: the
	// manager runs with the rights config/rbac grants, and no more.
	managerKubeconfig string
	assets            string
	s3Server          *s3test.Server
	store             *podstore.Store
	managerBin        string
	manager           *managerProcess
)

func TestE2E(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "End to end")
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	ctx, cancel = context.WithCancel(context.TODO())
	root := testenv.RepoRoot()
	var err error
	assets, err = testenv.AssetsDir()
	Expect(err).NotTo(HaveOccurred())

	By("building the manager binary")
	managerBin, err = managerproc.Build(ctx, root, GinkgoT().TempDir())
	Expect(err).NotTo(HaveOccurred())

	By("starting a control plane with nothing installed")
	controlPl = &envtest.Environment{BinaryAssetsDirectory: assets}
	_, err = controlPl.Start()
	Expect(err).NotTo(HaveOccurred())
	var cfg *rest.Config
	kubeconfig, cfg, err = testenv.Admin(controlPl, "e2e-admin", GinkgoT().TempDir())
	Expect(err).NotTo(HaveOccurred())
	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(trackingv1alpha1.AddToScheme(scheme))
	k8sClient, err = client.New(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())

	By("applying config/rbac and impersonating its ServiceAccount for the manager")
	kubectl(nil, "create", "namespace", serviceAccountNamespace)
	kubectl(nil, "apply", "--server-side", "-k", "config/rbac")
	user, groups := testenv.ServiceAccount(serviceAccountNamespace, serviceAccountName)
	managerKubeconfig, err = testenv.Impersonating(kubeconfig, GinkgoT().TempDir(), "manager.kubeconfig", user, groups)
	Expect(err).NotTo(HaveOccurred())

	By("starting the S3 server")
	s3Server, err = s3test.Start(ctx)
	Expect(err).NotTo(HaveOccurred())
	Expect(s3Server.SetProcessEnv()).To(Succeed())
	Expect(s3Server.CreateBucket(ctx, podBucket)).To(Succeed())
	store, err = podstore.Open(ctx, s3Server.BucketURL(podBucket))
	Expect(err).NotTo(HaveOccurred())
})

var _ = AfterSuite(func() {
	if manager != nil {
		manager.Stop()
	}
	cancel()
	if store != nil {
		Expect(store.Close()).To(Succeed())
	}
	if s3Server != nil {
		Expect(s3Server.Close()).To(Succeed())
	}
	if controlPl != nil {
		Expect(controlPl.Stop()).To(Succeed())
	}
})

// kubectl runs the kubectl built with the control plane against it, as the
// admin.
func kubectl(stdin []byte, args ...string) string {
	GinkgoHelper()
	out, err := kubectlWith(kubeconfig, stdin, args...)
	Expect(err).NotTo(HaveOccurred())
	return out
}

// kubectlWith runs kubectl with the given kubeconfig and returns its
// standard output, or an error carrying its standard error.
func kubectlWith(config string, stdin []byte, args ...string) (string, error) {
	//nolint:gosec // the kubectl built with the control plane, with the test's own arguments
	cmd := exec.CommandContext(ctx, filepath.Join(assets, "kubectl"), append([]string{"--kubeconfig", config}, args...)...)
	cmd.Dir = testenv.RepoRoot()
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
}

// managerProcess is the manager binary running as a separate process.
type managerProcess struct {
	*managerproc.Process
	webhookURL string
}

// startManager starts the binary with its courier API on port and waits
// until the API is ready.
func startManager(port int) *managerProcess {
	GinkgoHelper()
	p, err := managerproc.Start(managerBin, []string{
		fmt.Sprintf("--webhook-bind-address=127.0.0.1:%d", port),
		"--health-probe-bind-address=0",
		"--metrics-bind-address=0",
		"--pod-bucket=" + s3Server.BucketURL(podBucket),
	}, append([]string{"KUBECONFIG=" + managerKubeconfig}, s3Server.Env()...), GinkgoWriter)
	Expect(err).NotTo(HaveOccurred())
	m := &managerProcess{Process: p, webhookURL: fmt.Sprintf("http://127.0.0.1:%d", port)}
	readyCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	Expect(m.WaitReady(readyCtx, m.webhookURL+"/readyz")).To(Succeed())
	return m
}
