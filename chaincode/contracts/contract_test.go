package contracts

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// contractFile is chaincode/contract.json: the one written contract the Python SDK tests too.
type contractFile struct {
	DefaultContract string   `json:"default_contract"`
	Events          []string `json:"events"`
	Errors          []string `json:"errors"`
	Contracts       map[string]struct {
		Transactions map[string]struct {
			Kind   string   `json:"kind"`
			Args   []string `json:"args"`
			Events []string `json:"events"`
			Errors []string `json:"errors"`
		} `json:"transactions"`
	} `json:"contracts"`
}

func loadContractFile(t *testing.T) contractFile {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "contract.json"))
	if err != nil {
		t.Fatalf("reading contract.json: %v", err)
	}
	var c contractFile
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatalf("contract.json: %v", err)
	}
	return c
}

// sourceMethods parses the contract sources: receiver type -> method -> parameter names after ctx.
func sourceMethods(t *testing.T) (map[string]map[string][]string, string) {
	t.Helper()
	fset := token.NewFileSet()
	files, _ := filepath.Glob("*.go")
	methods := map[string]map[string][]string{}
	var all strings.Builder
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		data, _ := os.ReadFile(name)
		all.Write(data)
		file, err := parser.ParseFile(fset, name, data, 0)
		if err != nil {
			t.Fatalf("parsing %s: %v", name, err)
		}
		for _, decl := range file.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Recv == nil || !fn.Name.IsExported() {
				continue
			}
			star, ok := fn.Recv.List[0].Type.(*ast.StarExpr)
			if !ok {
				continue
			}
			receiver := star.X.(*ast.Ident).Name
			var params []string
			for i, field := range fn.Type.Params.List {
				for _, n := range field.Names {
					if i > 0 {
						params = append(params, n.Name)
					}
				}
			}
			if methods[receiver] == nil {
				methods[receiver] = map[string][]string{}
			}
			methods[receiver][fn.Name.Name] = params
		}
	}
	return methods, all.String()
}

var receivers = map[string]string{"records": "RecordContract", "datasets": "DatasetContract",
	"tasks": "TaskContract", "models": "ModelContract"}

func TestContractFileMatchesTheCode(t *testing.T) {
	c := loadContractFile(t)
	methods, _ := sourceMethods(t)
	if c.DefaultContract != "records" {
		t.Errorf("default contract = %q", c.DefaultContract)
	}
	for name, receiver := range receivers {
		listed := c.Contracts[name].Transactions
		for method, params := range methods[receiver] {
			tx, ok := listed[method]
			if !ok {
				t.Errorf("%s:%s is not in contract.json", name, method)
				continue
			}
			if !reflect.DeepEqual(tx.Args, params) {
				t.Errorf("%s:%s args = %v in contract.json, %v in the code", name, method, tx.Args, params)
			}
			if tx.Kind != "submit" && tx.Kind != "evaluate" {
				t.Errorf("%s:%s kind %q", name, method, tx.Kind)
			}
		}
		for method := range listed {
			if _, ok := methods[receiver][method]; !ok {
				t.Errorf("contract.json lists %s:%s, which the code lacks", name, method)
			}
		}
	}
}

func TestEveryEventAndErrorCodeIsListed(t *testing.T) {
	c := loadContractFile(t)
	_, source := sourceMethods(t)
	used := map[string]bool{}
	for _, m := range regexp.MustCompile(`emit\(ctx, "(\w+)"`).FindAllStringSubmatch(source, -1) {
		used[m[1]] = true
	}
	var usedNames []string
	for e := range used {
		usedNames = append(usedNames, e)
	}
	sort.Strings(usedNames)
	if !reflect.DeepEqual(usedNames, c.Events) {
		t.Errorf("events emitted by the code %v, listed %v", usedNames, c.Events)
	}
	codes := []string{CodeInvalidArgument, CodeNotFound, CodeAlreadyExists, CodePermissionDenied,
		CodeFailedPrecondition, CodeInternal}
	if !reflect.DeepEqual(codes, c.Errors) {
		t.Errorf("error codes %v, listed %v", codes, c.Errors)
	}
	for name, contract := range c.Contracts {
		for method, tx := range contract.Transactions {
			for _, e := range tx.Events {
				if !used[e] {
					t.Errorf("%s:%s lists unknown event %s", name, method, e)
				}
			}
		}
	}
}
