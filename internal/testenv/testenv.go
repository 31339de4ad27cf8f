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

// Package testenv starts the real control plane (kube-apiserver and etcd,
// built by `make envtest`) that the integration tests run against, with the
// project's CRDs installed from config/crd.
package testenv

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// errNoControlPlane is what a test run without the control plane reports.
var errNoControlPlane = errors.New("the envtest control plane is not built: run `make envtest` " +
	"(`make test` does it for you) and set KUBEBUILDER_ASSETS to the directory it prints")

// RepoRoot is the checkout's root directory.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// AssetsDir returns the directory holding kube-apiserver, etcd and kubectl,
// or an error that tells the developer how to build them.
func AssetsDir() (string, error) {
	dir := os.Getenv("KUBEBUILDER_ASSETS")
	if dir == "" {
		return "", errNoControlPlane
	}
	for _, bin := range []string{"kube-apiserver", "etcd", "kubectl"} {
		//nolint:gosec // KUBEBUILDER_ASSETS is the developer's own setting, read by a test helper
		if _, err := os.Stat(filepath.Join(dir, bin)); err != nil {
			return "", fmt.Errorf("%w (%s: %w)", errNoControlPlane, bin, err)
		}
	}
	return dir, nil
}

// Start starts a control plane with the project's CRDs installed. Stop the
// returned environment when done.
func Start() (*envtest.Environment, *rest.Config, error) {
	assets, err := AssetsDir()
	if err != nil {
		return nil, nil, err
	}
	env := &envtest.Environment{
		BinaryAssetsDirectory: assets,
		CRDDirectoryPaths:     []string{filepath.Join(RepoRoot(), "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
	}
	cfg, err := env.Start()
	if err != nil {
		return nil, nil, fmt.Errorf("starting the envtest control plane from %s: %w", assets, err)
	}
	return env, cfg, nil
}

// Admin adds a cluster-admin (system:masters) user called name to a
// started control plane, writes its kubeconfig to dir/kubeconfig, and
// returns that path and the user's client configuration.
func Admin(env *envtest.Environment, name, dir string) (kubeconfig string, cfg *rest.Config, err error) {
	user, err := env.ControlPlane.AddUser(envtest.User{Name: name, Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return "", nil, fmt.Errorf("adding the admin user %s: %w", name, err)
	}
	raw, err := user.KubeConfig()
	if err != nil {
		return "", nil, fmt.Errorf("rendering the kubeconfig of %s: %w", name, err)
	}
	kubeconfig = filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kubeconfig, raw, 0o600); err != nil {
		return "", nil, fmt.Errorf("writing %s: %w", kubeconfig, err)
	}
	return kubeconfig, user.Config(), nil
}

// ServiceAccount is a ServiceAccount's user as the API server authenticates
// it: the user name and groups a token of it would carry.
func ServiceAccount(namespace, name string) (user string, groups []string) {
	return "system:serviceaccount:" + namespace + ":" + name,
		[]string{"system:serviceaccounts", "system:serviceaccounts:" + namespace, "system:authenticated"}
}

// Impersonating writes dir/name, a copy of the kubeconfig at admin whose
// credentials impersonate user and groups (kubectl's --as and --as-group),
// and returns its path. The admin's credentials authenticate; the API
// server then authorizes every request as the impersonated user, so a
// program run with it has exactly that user's rights.
func Impersonating(admin, dir, name, user string, groups []string) (string, error) {
	cfg, err := clientcmd.LoadFromFile(admin)
	if err != nil {
		return "", fmt.Errorf("reading the kubeconfig %s: %w", admin, err)
	}
	for _, auth := range cfg.AuthInfos {
		auth.Impersonate = user
		auth.ImpersonateGroups = groups
	}
	path := filepath.Join(dir, name)
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		return "", fmt.Errorf("writing %s: %w", path, err)
	}
	return path, nil
}
