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

// Command promql-metrics parses every PromQL expression of Grafana dashboards
// (*.json) and Prometheus rule files (*.yaml, the groups: format promtool
// reads) with Prometheus's own parser, and prints each metric name they
// select, one a line, followed by a tab and where it is used. A parse error
// names the file, the panel or rule and the expression, and exits 1.
//
// It lives in the promtool tools module because the parser is a large
// dependency the manager's module has no other use for; the e2e test runs it
// to learn which names the manager's /metrics must serve.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"go.yaml.in/yaml/v3"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: promql-metrics DASHBOARD.json|RULES.yaml ...")
		os.Exit(2)
	}
	uses := map[string][]string{}
	var errs []error
	for _, file := range os.Args[1:] {
		exprs, err := expressions(file)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, e := range exprs {
			names, err := metricNames(e.query)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %s: %w\n\t%s", file, e.where, err, e.query))
				continue
			}
			for _, n := range names {
				uses[n] = append(uses[n], filepath.Base(file)+": "+e.where)
			}
		}
	}
	if len(errs) > 0 {
		fmt.Fprintln(os.Stderr, errors.Join(errs...))
		os.Exit(1)
	}
	for _, n := range slices.Sorted(maps.Keys(uses)) {
		fmt.Printf("%s\t%s\n", n, strings.Join(slices.Compact(uses[n]), "; "))
	}
}

// expression is one PromQL query and where it was found.
type expression struct {
	where, query string
}

func expressions(file string) ([]expression, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	switch filepath.Ext(file) {
	case ".json":
		return dashboardExpressions(raw, file)
	case ".yaml", ".yml":
		return ruleExpressions(raw, file)
	}
	return nil, fmt.Errorf("%s: not a dashboard (.json) or a rule file (.yaml)", file)
}

// panel is the part of a Grafana panel that holds queries; a collapsed row
// holds its panels inside it.
type panel struct {
	Title   string  `json:"title"`
	Panels  []panel `json:"panels"`
	Targets []struct {
		RefID string `json:"refId"`
		Expr  string `json:"expr"`
	} `json:"targets"`
}

// dashboard is the part of a Grafana dashboard that holds queries.
type dashboard struct {
	Panels     []panel `json:"panels"`
	Templating struct {
		List []struct {
			Name  string `json:"name"`
			Type  string `json:"type"`
			Query any    `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

func dashboardExpressions(raw []byte, file string) ([]expression, error) {
	var d dashboard
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	var out []expression
	for _, v := range d.Templating.List {
		if q, ok := v.Query.(map[string]any); ok && v.Type == "query" {
			if s, ok := q["query"].(string); ok {
				if m := labelValues.FindStringSubmatch(s); m != nil {
					out = append(out, expression{"variable " + v.Name, substitute(m[1])})
				}
			}
		}
	}
	var walk func(ps []panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			for _, t := range p.Targets {
				if t.Expr == "" {
					continue
				}
				out = append(out, expression{fmt.Sprintf("panel %q query %s", p.Title, t.RefID), substitute(t.Expr)})
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no PromQL expression found", file)
	}
	return out, nil
}

// labelValues matches a Grafana variable query, label_values(selector, label),
// whose selector is PromQL.
var labelValues = regexp.MustCompile(`^label_values\((.+),\s*\w+\)$`)

// variable matches Grafana's template variables: $name, ${name} and
// ${name:format}.
var variable = regexp.MustCompile(`\$\{(\w+)(?::\w+)?\}|\$(\w+)`)

// substitute replaces Grafana's variables with what Grafana would put there:
// an interval for the interval variables, a regular expression for the rest
// (the dashboard matches them with =~).
func substitute(expr string) string {
	return variable.ReplaceAllStringFunc(expr, func(v string) string {
		m := variable.FindStringSubmatch(v)
		switch name := m[1] + m[2]; name {
		case "__rate_interval", "__interval", "__range":
			return "5m"
		default:
			return ".+"
		}
	})
}

func ruleExpressions(raw []byte, file string) ([]expression, error) {
	var rf struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []struct {
				Alert  string `yaml:"alert"`
				Record string `yaml:"record"`
				Expr   string `yaml:"expr"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(raw, &rf); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	var out []expression
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			out = append(out, expression{fmt.Sprintf("group %s rule %s", g.Name, r.Alert+r.Record), r.Expr})
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no rule found", file)
	}
	return out, nil
}

// metricNames parses query and returns the metric names its selectors name.
func metricNames(query string) ([]string, error) {
	expr, err := parser.ParseExpr(query)
	if err != nil {
		return nil, err
	}
	var names []string
	var missing error
	parser.Inspect(expr, func(node parser.Node, _ []parser.Node) error {
		vs, ok := node.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		name := vs.Name
		for _, m := range vs.LabelMatchers {
			if m.Name == labels.MetricName && m.Type == labels.MatchEqual {
				name = m.Value
			}
		}
		if name == "" {
			missing = fmt.Errorf("selector %s names no metric", vs)
			return nil
		}
		names = append(names, name)
		return nil
	})
	return names, missing
}
