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

package webhookserver

import (
	"go/ast"
	"go/parser"
	"go/token"
	"testing"
)

// TestHandleUpdateVerifiesFirst reads update.go and holds handleUpdate to its
// shape: the body is settled (Finish, then verifyBody) exactly once, and
// before it nothing answers, writes or returns anything but the request's
// own syntax error; lookUp, which runs before it, only reads. The spec
// "Wrongly signed updates" checks the same from outside.
//
//nolint:gocyclo // one walk of the function body checks each rule where it applies
func TestHandleUpdateVerifiesFirst(t *testing.T) {
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, "update.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	funcs := map[string]*ast.FuncDecl{}
	for _, d := range file.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok {
			funcs[fd.Name.Name] = fd
		}
	}
	handle := funcs["handleUpdate"]
	if handle == nil {
		t.Fatal("update.go has no handleUpdate")
	}

	calls := map[string][]token.Pos{}
	var returns []*ast.ReturnStmt
	ast.Inspect(handle.Body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CallExpr:
			calls[calleeName(n)] = append(calls[calleeName(n)], n.Pos())
		case *ast.ReturnStmt:
			returns = append(returns, n)
		}
		return true
	})
	for _, name := range []string{"Finish", "verifyBody"} {
		if len(calls[name]) != 1 {
			t.Fatalf("handleUpdate calls %s %d times; want once, in the one place the body is settled", name, len(calls[name]))
		}
	}
	settled := calls["verifyBody"][0]
	if calls["Finish"][0] > settled {
		t.Errorf("handleUpdate verifies the signature before it has read the body to its end (Finish)")
	}
	// What tells, or writes: answers, API writes, the write slot.
	for _, name := range []string{"answer", "record", "create", "appendEvents", "acquireWrite", "Create", "Patch", "Update",
		"writeJSON", "writeProblem", "stageError", "unknownParcel", "nameTaken"} {
		for _, pos := range calls[name] {
			if pos < settled {
				t.Errorf("%s: handleUpdate calls %s before verifyBody", fset.Position(pos), name)
			}
		}
	}
	for _, r := range returns {
		if r.Pos() > settled {
			continue
		}
		if id, ok := singleIdent(r); !ok || id != "err" {
			t.Errorf("%s: handleUpdate returns something other than err before verifyBody", fset.Position(r.Pos()))
		}
	}

	for _, name := range []string{"lookUp", "lookUpParcel", "lookupOf"} {
		fd := funcs[name]
		if fd == nil {
			t.Fatalf("update.go has no %s", name)
		}
		ast.Inspect(fd.Body, func(n ast.Node) bool {
			if call, ok := n.(*ast.CallExpr); ok {
				switch callee := calleeName(call); callee {
				case "Create", "Patch", "Update", "Delete", "Stage", "answer", "record", "writeJSON":
					t.Errorf("%s: %s calls %s; it must only read", fset.Position(call.Pos()), name, callee)
				}
			}
			return true
		})
	}
}

// TestHandleBatchVerifiesFirst holds handleBatch (batch.go) to the same
// rule: the body is read and the signature verified once, and before that
// it only reads the request's own bytes.
func TestHandleBatchVerifiesFirst(t *testing.T) {
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, "batch.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var handle *ast.FuncDecl
	for _, d := range file.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok && fd.Name.Name == "handleBatch" {
			handle = fd
		}
	}
	if handle == nil {
		t.Fatal("batch.go has no handleBatch")
	}
	calls := map[string][]token.Pos{}
	ast.Inspect(handle.Body, func(n ast.Node) bool {
		if call, ok := n.(*ast.CallExpr); ok {
			calls[calleeName(call)] = append(calls[calleeName(call)], call.Pos())
		}
		return true
	})
	if len(calls["verifyBody"]) != 1 || len(calls["readBatch"]) != 1 {
		t.Fatalf("handleBatch calls readBatch %d and verifyBody %d times; want each once", len(calls["readBatch"]), len(calls["verifyBody"]))
	}
	settled := calls["verifyBody"][0]
	if calls["readBatch"][0] > settled {
		t.Errorf("handleBatch verifies the signature before it has read the body")
	}
	for _, name := range []string{"admitBatch", "ParseUpdate", "recordGroup", "lookUpParcel", "record", "acquireWrite", "writeJSON"} {
		for _, pos := range calls[name] {
			if pos < settled {
				t.Errorf("%s: handleBatch calls %s before verifyBody", fset.Position(pos), name)
			}
		}
	}
}

// calleeName is the name of the function or method a call calls.
func calleeName(call *ast.CallExpr) string {
	switch fun := call.Fun.(type) {
	case *ast.SelectorExpr:
		return fun.Sel.Name
	case *ast.Ident:
		return fun.Name
	}
	return ""
}

func singleIdent(r *ast.ReturnStmt) (string, bool) {
	if len(r.Results) != 1 {
		return "", false
	}
	id, ok := r.Results[0].(*ast.Ident)
	if !ok {
		return "", false
	}
	return id.Name, true
}
