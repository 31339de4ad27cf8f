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

package signature

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The worked example of the README and the OpenAPI document, byte for
// byte. The expected MAC was computed outside Go, with
// `printf '%s' "$t.$body" | openssl dgst -sha256 -hmac "$key"`.
const (
	exampleKey    = "example-hmac-key-0123456789abcdef"
	exampleT      = 1759908600
	exampleBody   = `{"articleId":"ARP1000052447","track_status":"Received in Depo","track_datetime":"2025-10-08T07:30:00Z"}`
	exampleHeader = "t=1759908600,v1=9eadee0ec3defb56b48f3c50ef69a0bf8d0802204f7afecc91f7f04da20d174c"
)

func TestWorkedExample(t *testing.T) {
	if got := Sign(exampleT, []byte(exampleBody), []byte(exampleKey)); got != exampleHeader {
		t.Fatalf("Sign = %s, want %s", got, exampleHeader)
	}

	v := &Verifier{Memory: NewReplayMemory(8)}
	now := time.Unix(exampleT, 0).Add(2 * time.Minute)
	p, err := v.Begin(exampleHeader, [][]byte{[]byte(exampleKey)}, now)
	if err != nil {
		t.Fatalf("Begin: %v", err)
	}
	_, _ = p.Write([]byte(exampleBody))
	if _, err := p.Finish(now); err != nil {
		t.Fatalf("Finish: %v", err)
	}
}

// TestWorkedExampleIsDocumented keeps the documents telling exactly the
// values the test above checks.
func TestWorkedExampleIsDocumented(t *testing.T) {
	lines := []string{
		"hmacKey:  " + exampleKey,
		"t:        1759908600",
		"body:     " + exampleBody,
		"signed:   1759908600." + exampleBody,
		"header:   " + Header + ": " + exampleHeader,
	}
	for _, doc := range []string{"README.md", filepath.Join("docs", "courier-api.yaml")} {
		raw, err := os.ReadFile(filepath.Join("..", "..", doc))
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range lines {
			if !strings.Contains(string(raw), line) {
				t.Errorf("%s does not show the worked example's line %q", doc, line)
			}
		}
	}
}
