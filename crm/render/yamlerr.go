package render

import (
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// positioned is what the YAML library's errors offer besides Error(),
// which quotes the file's lines: a message and where it applies.
type positioned interface {
	GetMessage() string
	GetToken() *token.Token
}

// describeYAMLError says what is wrong in the topology b in the file's
// terms: a line and the section (haproxy, services[], ...), never the Go
// types the library names.
func describeYAMLError(b []byte, err error) string {
	e, ok := err.(positioned)
	if !ok || e.GetToken() == nil {
		return err.Error()
	}
	tok := e.GetToken()
	line := tok.Position.Line
	where := sectionAt(b, tok)
	msg := e.GetMessage()
	if name, found := strings.CutPrefix(msg, "unknown field "); found {
		return fmt.Sprintf("line %d: field %s not found in %s", line, strings.Trim(name, `"`), where)
	}
	var te *yaml.TypeError
	if errors.As(err, &te) && te.DstType != nil {
		return fmt.Sprintf("line %d: in %s: %q is not %s", line, where, tok.Value, kindName(te.DstType.Kind()))
	}
	var se *yaml.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("line %d: %s", line, msg)
	}
	return fmt.Sprintf("line %d: in %s: %s", line, where, msg)
}

// kindName says what a value of kind k is written as in YAML.
func kindName(k reflect.Kind) string {
	switch k {
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "a mapping (key: value)"
	}
	return "of the right type"
}

// sectionAt names the part of the topology b that holds tok, as the
// documentation names it: the mapping holding a key ("haproxy",
// "fencing.devices[]", "the top level"), or a value's own key
// ("haproxy.maxconn").
func sectionAt(b []byte, tok *token.Token) string {
	f, err := parser.ParseBytes(b, 0)
	if err != nil {
		return "the file"
	}
	at := func(t *token.Token) bool {
		return t != nil && t.Position.Line == tok.Position.Line && t.Position.Column == tok.Position.Column
	}
	var path []string
	found := ""
	var walk func(n ast.Node) bool
	walk = func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.MappingNode:
			for _, v := range n.Values {
				if walk(v) {
					return true
				}
			}
		case *ast.MappingValueNode:
			if at(n.GetToken()) || at(n.Key.GetToken()) {
				found = strings.Join(path, ".")
				return true
			}
			path = append(path, n.Key.String())
			defer func() { path = path[:len(path)-1] }()
			if at(n.Value.GetToken()) {
				found = strings.Join(path, ".")
				return true
			}
			return walk(n.Value)
		case *ast.SequenceNode:
			if len(path) > 0 {
				last := path[len(path)-1]
				path[len(path)-1] = last + "[]"
				defer func() { path[len(path)-1] = last }()
			}
			for _, v := range n.Values {
				if walk(v) {
					return true
				}
			}
		case *ast.TagNode:
			return walk(n.Value)
		case *ast.AnchorNode:
			return walk(n.Value)
		}
		return false
	}
	for _, d := range f.Docs {
		if walk(d.Body) {
			break
		}
	}
	if found == "" {
		return "the top level"
	}
	return found
}
