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

// Command kubectl-parcel is the kubectl plugin for parcel-operator:
// `kubectl parcel history|correct|pod|stuck|couriers`. kubectl runs it when
// it is on PATH; it reads the same kubeconfig, flags and namespace as
// kubectl itself (k8s.io/cli-runtime). docs/managing-parcels.md walks
// through it.
package main

import (
	"os"

	"k8s.io/cli-runtime/pkg/genericiooptions"
)

func main() {
	cmd := newRootCommand(genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr})
	if err := cmd.Execute(); err != nil {
		// cobra has printed the error already.
		os.Exit(1)
	}
}
