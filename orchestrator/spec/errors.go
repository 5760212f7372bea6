package spec

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// FieldError is one problem in a spec file, located by line and column and named by the path
// of the field (e.g. `methods[2].9p.msize`).
type FieldError struct {
	File   string
	Line   int
	Column int
	Field  string
	Msg    string
}

// Error formats the problem as `file:line:col: field: message`, the form editors understand.
func (e *FieldError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, e.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s: %s", e.File, e.Line, e.Column, e.Field, e.Msg)
}

// Pos is a position in a spec file.
type Pos struct {
	Line   int `json:"line"`
	Column int `json:"column"`
}

func posOf(n *yaml.Node) Pos {
	if n == nil {
		return Pos{1, 1}
	}
	return Pos{n.Line, n.Column}
}
