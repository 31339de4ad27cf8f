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

// Package argocd_test runs the Argo CD health checks in config/argocd the
// way Argo CD does: the object as the Lua global obj, only the libraries
// Argo CD opens for a script from argocd-cm, and a table with status and
// message as the result.
package argocd_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	lua "github.com/yuin/gopher-lua"
	"sigs.k8s.io/yaml"
)

func TestArgoCDHealth(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Argo CD health checks")
}

// configDir holds the scripts and their README.
var configDir = filepath.Join("..", "..", "config", "argocd")

// healthStatuses are the statuses Argo CD accepts from a health script; it
// turns anything else into Unknown.
var healthStatuses = []string{"Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown"}

// scriptTimeout is the time Argo CD gives a script.
const scriptTimeout = time.Second

type health struct {
	Status  string
	Message string
}

// runHealth runs a health script on an object given as YAML.
func runHealth(script, object string) (health, error) {
	var obj map[string]any
	if err := yaml.Unmarshal([]byte(object), &obj); err != nil {
		return health{}, fmt.Errorf("parsing the object: %w", err)
	}

	// Argo CD opens no standard library for a script from argocd-cm except
	// these (and a reduced os, which the scripts do not use): no string,
	// no math.
	state := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer state.Close()
	for name, open := range map[string]lua.LGFunction{
		lua.LoadLibName: lua.OpenPackage,
		lua.BaseLibName: lua.OpenBase,
		lua.TabLibName:  lua.OpenTable,
	} {
		if err := state.CallByParam(lua.P{Fn: state.NewFunction(open), Protect: true}, lua.LString(name)); err != nil {
			return health{}, fmt.Errorf("opening %s: %w", name, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), scriptTimeout)
	defer cancel()
	state.SetContext(ctx)

	state.SetGlobal("obj", toLua(state, obj))
	if err := state.DoString(script); err != nil {
		return health{}, err
	}
	result, ok := state.Get(-1).(*lua.LTable)
	if !ok {
		return health{}, fmt.Errorf("the script returned %s, not a table", state.Get(-1).Type())
	}
	var h health
	for key, dst := range map[string]*string{"status": &h.Status, "message": &h.Message} {
		switch v := result.RawGetString(key).(type) {
		case lua.LString:
			*dst = string(v)
		case *lua.LNilType:
		default:
			return health{}, fmt.Errorf("the script returned %s %s, not a string", key, v.Type())
		}
	}
	return h, nil
}

// toLua converts a value decoded from JSON or YAML into Lua: objects to
// tables with string keys, arrays to sequences from 1, numbers to numbers.
func toLua(state *lua.LState, v any) lua.LValue {
	switch v := v.(type) {
	case nil:
		return lua.LNil
	case bool:
		return lua.LBool(v)
	case string:
		return lua.LString(v)
	case float64:
		return lua.LNumber(v)
	case int64:
		return lua.LNumber(v)
	case int:
		return lua.LNumber(v)
	case []any:
		t := state.CreateTable(len(v), 0)
		for _, item := range v {
			t.Append(toLua(state, item))
		}
		return t
	case map[string]any:
		t := state.CreateTable(0, len(v))
		for key, item := range v {
			t.RawSetString(key, toLua(state, item))
		}
		return t
	default:
		panic(fmt.Sprintf("toLua: unexpected %T", v))
	}
}

func readScript(name string) string {
	GinkgoHelper()
	b, err := os.ReadFile(filepath.Join(configDir, name))
	Expect(err).NotTo(HaveOccurred())
	return string(b)
}

// parcel is a Parcel three events in, at generation 3, with the given status
// (YAML, indented as under "status:"; empty for none).
func parcel(status string) string {
	obj := `apiVersion: tracking.parcelops.io/v1alpha1
kind: Parcel
metadata:
  name: arp1000052447
  namespace: acme
  generation: 3
  uid: 6f1c1f0e-8d0b-4c39-9f6e-2a8d7f1b9c11
  creationTimestamp: "2025-10-08T07:30:02Z"
spec:
  articleId: ARP1000052447
  events:
  - id: received-1
    status: ReceivedInDepot
    time: "2025-10-08T07:30:00Z"
    remarks: Received in Depo
  - id: loaded-1
    status: LoadedByDriver
    time: "2025-10-08T08:05:00Z"
  - id: delivered-1
    status: Delivered
    time: "2025-10-08T10:15:00Z"
    remarks: Delivered successfully
    proofOfDelivery:
      stagingKey: incoming/acme/delivered-1
      sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
      size: 48213
      contentType: image/jpeg
`
	if status != "" {
		obj += "status:\n" + status
	}
	return obj
}

// courier is a Courier at generation 2 with the given status.
func courier(status string) string {
	obj := `apiVersion: tracking.parcelops.io/v1alpha1
kind: Courier
metadata:
  name: acme
  namespace: acme
  generation: 2
spec:
  displayName: ACME Logistics
  secretRef:
    name: acme-token
  allowParcelCreation: true
  maxProofOfDeliverySize: 10Mi
`
	if status != "" {
		obj += "status:\n" + status
	}
	return obj
}

var _ = Describe("health-parcel.lua", func() {
	script := readScript("health-parcel.lua")

	DescribeTable("the health of a Parcel",
		func(object string, want health) {
			got, err := runHealth(script, object)
			Expect(err).NotTo(HaveOccurred())
			Expect(healthStatuses).To(ContainElement(got.Status))
			Expect(got).To(Equal(want))
		},
		Entry("just created: no status", parcel(""),
			health{"Progressing", "Waiting for the operator"}),
		Entry("status without observedGeneration", parcel(`  phase: NotScanned
`),
			health{"Progressing", "Waiting for the operator"}),
		Entry("an event appended since the last reconcile: observedGeneration 2 < generation 3", parcel(`  observedGeneration: 2
  phase: LoadedByDriver
  conditions:
  - type: Ready
    status: "True"
    reason: Reconciled
    message: "Loaded by Driver after 2 events: 2 applied, 0 unchanged, 0 rejected, 0 duplicate"
    observedGeneration: 2
    lastTransitionTime: "2025-10-08T08:05:01Z"
`),
			health{"Progressing", "Waiting for the operator"}),
		Entry("current, but no Ready condition yet", parcel(`  observedGeneration: 3
  phase: Delivered
`),
			health{"Progressing", "Waiting for the operator"}),
		Entry("Stalled=True: the proof of delivery fails verification", parcel(`  observedGeneration: 3
  phase: Delivered
  conditions:
  - type: ProofOfDeliveryStored
    status: "False"
    reason: VerificationFailed
    message: "0 of 1 proof-of-delivery files stored; event delivered-1: incoming/acme/delivered-1 is 48100 bytes, want 48213"
    observedGeneration: 3
    lastTransitionTime: "2025-10-08T10:15:03Z"
  - type: Ready
    status: "False"
    reason: VerificationFailed
    message: "0 of 1 proof-of-delivery files stored; event delivered-1: incoming/acme/delivered-1 is 48100 bytes, want 48213"
    observedGeneration: 3
    lastTransitionTime: "2025-10-08T10:15:03Z"
  - type: Stalled
    status: "True"
    reason: VerificationFailed
    message: "0 of 1 proof-of-delivery files stored; event delivered-1: incoming/acme/delivered-1 is 48100 bytes, want 48213"
    observedGeneration: 3
    lastTransitionTime: "2025-10-08T10:15:03Z"
`),
			health{"Degraded", "VerificationFailed: 0 of 1 proof-of-delivery files stored; " +
				"event delivered-1: incoming/acme/delivered-1 is 48100 bytes, want 48213"}),
		Entry("Reconciling=True: the object store is down and being retried", parcel(`  observedGeneration: 3
  phase: Delivered
  conditions:
  - type: ProofOfDeliveryStored
    status: "False"
    reason: StoreUnavailable
    message: "0 of 1 proof-of-delivery files stored; storing proof of delivery of event delivered-1: connection refused"
    observedGeneration: 3
    lastTransitionTime: "2025-10-08T10:15:03Z"
  - type: Ready
    status: "False"
    reason: StoreUnavailable
    message: "0 of 1 proof-of-delivery files stored; storing proof of delivery of event delivered-1: connection refused"
    observedGeneration: 3
    lastTransitionTime: "2025-10-08T10:15:03Z"
  - type: Reconciling
    status: "True"
    reason: StoreUnavailable
    message: "retrying: 0 of 1 proof-of-delivery files stored; storing proof of delivery of event delivered-1: connection refused"
    observedGeneration: 3
    lastTransitionTime: "2025-10-08T10:15:03Z"
`),
			health{"Progressing", "StoreUnavailable: retrying: 0 of 1 proof-of-delivery files stored; " +
				"storing proof of delivery of event delivered-1: connection refused"}),
		Entry("Ready=False with reason StoreUnavailable, no Reconciling condition", parcel(`  observedGeneration: 3
  phase: Delivered
  conditions:
  - type: Ready
    status: "False"
    reason: StoreUnavailable
    message: "0 of 1 proof-of-delivery files stored; bucket s3://parcel-pods is unreachable"
    observedGeneration: 3
    lastTransitionTime: "2025-10-08T10:15:03Z"
`),
			health{"Progressing", "StoreUnavailable: 0 of 1 proof-of-delivery files stored; bucket s3://parcel-pods is unreachable"}),
		Entry("Ready=True: delivered, the proof of delivery stored", parcel(`  observedGeneration: 3
  phase: Delivered
  lastEventTime: "2025-10-08T10:15:00Z"
  history:
  - id: received-1
    result: Applied
  - id: loaded-1
    result: Applied
  - id: delivered-1
    result: Applied
  proofOfDelivery:
  - eventId: delivered-1
    url: s3://parcel-pods/pods/acme/arp1000052447/delivered-1.jpg
    sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
    size: 48213
    storedAt: "2025-10-08T10:15:04Z"
  conditions:
  - type: ProofOfDeliveryStored
    status: "True"
    reason: Stored
    message: 1 of 1 proof-of-delivery files stored
    observedGeneration: 3
    lastTransitionTime: "2025-10-08T10:15:04Z"
  - type: Ready
    status: "True"
    reason: Reconciled
    message: "Delivered after 3 events: 3 applied, 0 unchanged, 0 rejected, 0 duplicate"
    observedGeneration: 3
    lastTransitionTime: "2025-10-08T10:15:04Z"
`),
			health{"Healthy", "Phase Delivered (Delivered after 3 events: 3 applied, 0 unchanged, 0 rejected, 0 duplicate)"}),
		Entry("Ready=True with a Stalled=False left behind", parcel(`  observedGeneration: 3
  phase: InTransit
  conditions:
  - type: Stalled
    status: "False"
    reason: Reconciled
    message: ""
    observedGeneration: 3
    lastTransitionTime: "2025-10-08T09:00:00Z"
  - type: Ready
    status: "True"
    reason: Reconciled
    message: ""
    observedGeneration: 3
    lastTransitionTime: "2025-10-08T09:00:00Z"
`),
			health{"Healthy", "Phase InTransit"}),
		Entry("Ready=False for another reason, without Stalled", parcel(`  observedGeneration: 3
  phase: Delivered
  conditions:
  - type: Ready
    status: "False"
    reason: StagedObjectMissing
    message: "0 of 1 proof-of-delivery files stored; event delivered-1: neither incoming/acme/delivered-1 nor a stored copy exists"
    observedGeneration: 3
    lastTransitionTime: "2025-10-08T10:15:03Z"
`),
			health{"Degraded", "StagedObjectMissing: 0 of 1 proof-of-delivery files stored; " +
				"event delivered-1: neither incoming/acme/delivered-1 nor a stored copy exists"}),
		Entry("Ready=Unknown", parcel(`  observedGeneration: 3
  phase: Delivered
  conditions:
  - type: Ready
    status: Unknown
    reason: Reconciling
    message: ""
    observedGeneration: 3
    lastTransitionTime: "2025-10-08T10:15:03Z"
`),
			health{"Progressing", "Waiting for the operator"}),
	)
})

var _ = Describe("health-courier.lua", func() {
	script := readScript("health-courier.lua")

	DescribeTable("the health of a Courier",
		func(object string, want health) {
			got, err := runHealth(script, object)
			Expect(err).NotTo(HaveOccurred())
			Expect(healthStatuses).To(ContainElement(got.Status))
			Expect(got).To(Equal(want))
		},
		Entry("just created: no status", courier(""),
			health{"Progressing", "Waiting for the operator"}),
		Entry("secretRef changed since the last check: observedGeneration 1 < generation 2", courier(`  observedGeneration: 1
  conditions:
  - type: Ready
    status: "True"
    reason: CredentialsValid
    message: token in Secret "old-token" is usable
    observedGeneration: 1
    lastTransitionTime: "2025-10-08T07:00:00Z"
`),
			health{"Progressing", "Waiting for the operator"}),
		Entry("current, but no Ready condition", courier(`  observedGeneration: 2
`),
			health{"Progressing", "Waiting for the operator"}),
		Entry("Ready=True: the token is usable", courier(`  observedGeneration: 2
  conditions:
  - type: Ready
    status: "True"
    reason: CredentialsValid
    message: token in Secret "acme-token" is usable
    observedGeneration: 2
    lastTransitionTime: "2025-10-08T07:00:00Z"
`),
			health{"Healthy", `token in Secret "acme-token" is usable`}),
		Entry("Ready=False: the Secret is missing or unlabelled", courier(`  observedGeneration: 2
  conditions:
  - type: Ready
    status: "False"
    reason: SecretNotFound
    message: Secret "acme-token" not found among Secrets labelled tracking.parcelops.io/courier-credentials=true in namespace acme
    observedGeneration: 2
    lastTransitionTime: "2025-10-08T07:00:00Z"
`),
			health{"Degraded", `SecretNotFound: Secret "acme-token" not found among Secrets labelled ` +
				`tracking.parcelops.io/courier-credentials=true in namespace acme`}),
		Entry("Ready=False: the token is shared", courier(`  observedGeneration: 2
  conditions:
  - type: Ready
    status: "False"
    reason: TokenShared
    message: the token in Secret "acme-token" is used by 2 Couriers; requests with it are refused until each has its own
    observedGeneration: 2
    lastTransitionTime: "2025-10-08T07:00:00Z"
`),
			health{"Degraded", `TokenShared: the token in Secret "acme-token" is used by 2 Couriers; ` +
				`requests with it are refused until each has its own`}),
	)
})

var _ = Describe("config/argocd/README.md", func() {
	It("holds both scripts unchanged in its argocd-cm YAML", func() {
		readme, err := os.ReadFile(filepath.Join(configDir, "README.md"))
		Expect(err).NotTo(HaveOccurred())
		blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(string(readme), -1)
		Expect(blocks).To(HaveLen(1))

		var cm struct {
			Kind     string
			Metadata struct{ Name string }
			Data     map[string]string
		}
		Expect(yaml.Unmarshal([]byte(blocks[0][1]), &cm)).To(Succeed())
		Expect(cm.Kind).To(Equal("ConfigMap"))
		Expect(cm.Metadata.Name).To(Equal("argocd-cm"))
		Expect(cm.Data).To(HaveKeyWithValue("resource.customizations.health.tracking.parcelops.io_Parcel",
			readScript("health-parcel.lua")))
		Expect(cm.Data).To(HaveKeyWithValue("resource.customizations.health.tracking.parcelops.io_Courier",
			readScript("health-courier.lua")))
		Expect(strings.Count(blocks[0][1], "resource.customizations.")).To(Equal(2))
	})
})
