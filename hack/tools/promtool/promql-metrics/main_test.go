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

package main

import (
	"slices"
	"strings"
	"testing"
)

func TestSubstitute(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`rate(x[$__rate_interval])`, `rate(x[5m])`},
		{`rate(x[${__interval}])`, `rate(x[5m])`},
		{`x{namespace=~"$namespace"}`, `x{namespace=~".+"}`},
		{`x{courier=~"${courier}"}`, `x{courier=~".+"}`},
		{`x{courier=~"${courier:regex}"}`, `x{courier=~".+"}`},
		{`x{a="b"}`, `x{a="b"}`},
	} {
		if got := substitute(tc.in); got != tc.want {
			t.Errorf("substitute(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestMetricNames(t *testing.T) {
	for _, tc := range []struct {
		query   string
		want    []string
		wantErr string
	}{
		{query: `sum by (code) (rate(a_total[5m])) / sum(rate(b_total[5m]))`, want: []string{"a_total", "b_total"}},
		{query: `histogram_quantile(0.99, sum by (le) (rate(h_bucket{x="y"}[5m])))`, want: []string{"h_bucket"}},
		{query: `{__name__="by_matcher", job="j"}`, want: []string{"by_matcher"}},
		{query: `a unless on (namespace) max by (namespace) (b == 1)`, want: []string{"a", "b"}},
		{query: `vector(1)`, want: nil},
		{query: `{job="j"}`, wantErr: "names no metric"},
		{query: `{__name__=~"a|b"}`, wantErr: "names no metric"},
		{query: `sum(rate(a_total[5m])`, wantErr: "parse error"},
		{query: `rate(a_total{x="y"})`, wantErr: "range vector"},
	} {
		got, err := metricNames(tc.query)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("metricNames(%q): error %v, want one containing %q", tc.query, err, tc.wantErr)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("metricNames(%q) = %v, %v; want %v", tc.query, got, err, tc.want)
		}
	}
}

func TestDashboardExpressions(t *testing.T) {
	raw := []byte(`{
	  "templating": {"list": [
	    {"name": "namespace", "type": "query", "query": {"query": "label_values(up_total, namespace)"}},
	    {"name": "datasource", "type": "datasource", "query": "prometheus"}
	  ]},
	  "panels": [
	    {"type": "row", "title": "collapsed", "panels": [
	      {"title": "inner", "targets": [{"refId": "A", "expr": "rate(inner_total[$__rate_interval])"}]}
	    ]},
	    {"title": "outer", "targets": [{"refId": "A", "expr": "outer{namespace=~\"$namespace\"}"}, {"refId": "B"}]}
	  ]
	}`)
	got, err := dashboardExpressions(raw, "d.json")
	if err != nil {
		t.Fatal(err)
	}
	want := []expression{
		{"variable namespace", "up_total"},
		{`panel "inner" query A`, "rate(inner_total[5m])"},
		{`panel "outer" query A`, `outer{namespace=~".+"}`},
	}
	if !slices.Equal(got, want) {
		t.Errorf("dashboardExpressions = %v, want %v", got, want)
	}
	if _, err := dashboardExpressions([]byte(`{"panels": []}`), "empty.json"); err == nil {
		t.Error("a dashboard without queries: no error")
	}
}

func TestRuleExpressions(t *testing.T) {
	got, err := ruleExpressions([]byte("groups:\n- name: g\n  rules:\n  - alert: A\n    expr: a > 1\n  - record: r\n    expr: sum(b)\n"), "r.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := []expression{{"group g rule A", "a > 1"}, {"group g rule r", "sum(b)"}}
	if !slices.Equal(got, want) {
		t.Errorf("ruleExpressions = %v, want %v", got, want)
	}
	if _, err := ruleExpressions([]byte("groups: []\n"), "empty.yaml"); err == nil {
		t.Error("a rule file without rules: no error")
	}
}
