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

// Package chart_test keeps dist/chart honest with the real tools: the helm
// binary lints and renders it, the render with default values must equal
// `kustomize build config/default` object for object, and the real API server
// (envtest) accepts every rendered object in a server-side dry run.
package chart_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/parcelops/parcel-operator/internal/testenv"
)

var (
	ctx        context.Context
	cancel     context.CancelFunc
	controlPl  *envtest.Environment
	kubeconfig string
	assets     string
	helm       string
	kustomize  string
	root       = testenv.RepoRoot()
	chartDir   = filepath.Join(root, "dist", "chart")
)

func TestChart(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Helm chart")
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	ctx, cancel = context.WithCancel(context.TODO())
	var err error
	helm, err = tool("HELM", "helm")
	Expect(err).NotTo(HaveOccurred())
	kustomize, err = tool("KUSTOMIZE", "kustomize")
	Expect(err).NotTo(HaveOccurred())
	assets, err = testenv.AssetsDir()
	Expect(err).NotTo(HaveOccurred())

	By("starting a control plane with nothing installed: the chart brings the CRDs")
	controlPl = &envtest.Environment{BinaryAssetsDirectory: assets}
	_, err = controlPl.Start()
	Expect(err).NotTo(HaveOccurred())
	kubeconfig, _, err = testenv.Admin(controlPl, "chart-admin", GinkgoT().TempDir())
	Expect(err).NotTo(HaveOccurred())
})

var _ = AfterSuite(func() {
	cancel()
	if controlPl != nil {
		Expect(controlPl.Stop()).To(Succeed())
	}
})

// tool returns the binary an environment variable names, or an error that
// says which make target builds it.
func tool(env, target string) (string, error) {
	bin := os.Getenv(env)
	if bin == "" {
		return "", fmt.Errorf("%s is not set: run `make %s` (`make test` does it for you) and set %s to the binary it builds", env, target, env)
	}
	if _, err := os.Stat(bin); err != nil { //nolint:gosec // the path of a tool make built, from the test's environment
		return "", fmt.Errorf("%s=%s: %w; run `make %s`", env, bin, err, target)
	}
	return bin, nil
}

// run runs a binary from the repository root and returns its stdout, or an
// error carrying its stderr.
func run(stdin []byte, bin string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, bin, args...) //nolint:gosec // helm, kustomize and kubectl, as make built them
	cmd.Dir = root
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%s %s: %w: %s", filepath.Base(bin), strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
}

// mustRun is run for steps that must succeed.
func mustRun(stdin []byte, bin string, args ...string) string {
	GinkgoHelper()
	out, err := run(stdin, bin, args...)
	Expect(err).NotTo(HaveOccurred())
	return out
}
