// Package yamlstr makes goccy/go-yaml read a plain scalar into a Go string
// as it is written, as YAML 1.2 and go.yaml.in/yaml/v3 do. The library
// alone reads the number first: a fence plug 010 would become "8" (octal),
// a password 0x1F "31", 1.0 "1". Quoted and block scalars keep the
// library's reading; null and ~ are "".
package yamlstr

import (
	"fmt"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// Option is the decode option that does it, for every string the decoder
// fills (struct fields, map values, list items).
func Option() yaml.DecodeOption { return yaml.CustomUnmarshaler(decode) }

// decode reads b, the YAML of one value, into s.
func decode(s *string, b []byte) error {
	f, err := parser.ParseBytes(b, 0)
	if err != nil {
		return err
	}
	if len(f.Docs) == 0 || f.Docs[0].Body == nil {
		*s = ""
		return nil
	}
	switch n := f.Docs[0].Body.(type) {
	case *ast.StringNode:
		*s = n.Value
	case *ast.LiteralNode:
		*s = n.Value.Value
	case *ast.NullNode:
		*s = ""
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.InfinityNode, *ast.NanNode:
		*s = n.GetToken().Value
	default:
		return fmt.Errorf("%s where a string is wanted", n.Type())
	}
	return nil
}
