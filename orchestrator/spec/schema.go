package spec

import (
	"bytes"
	"encoding/json"

	"github.com/vmfsbench/vmfsbench/orchestrator/method"
	"github.com/vmfsbench/vmfsbench/orchestrator/param"
)

// object is a JSON object that keeps its keys in the order they were added.
type object []field

type field struct {
	key string
	val any
}

// MarshalJSON implements json.Marshaler.
func (o object) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(f.key)
		b.Write(k)
		b.WriteByte(':')
		v, err := marshal(f.val)
		if err != nil {
			return nil, err
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

// MethodsSchema is the JSON Schema of the spec's `methods:` list, made from every method's
// parameter table: experiment.schema.json holds it as properties.methods, and a test keeps
// the two equal (go test ./orchestrator/spec -update rewrites it).
func MethodsSchema() ([]byte, error) {
	var items []any
	for _, name := range method.Names() {
		m, _ := method.Lookup(name)
		props := object{}
		for _, d := range m.Params() {
			one := valueSchema(d)
			props = append(props, field{d.Name, object{{"oneOf", []any{one,
				object{{"type", "array"}, {"minItems", 1}, {"uniqueItems", true}, {"items", one}}}}}})
		}
		items = append(items, object{
			{"type", "object"}, {"additionalProperties", false}, {"required", []string{name}}, {"title", name},
			{"properties", object{{name, object{{"oneOf", []any{
				object{{"type", "null"}},
				object{{"type", "object"}, {"additionalProperties", false}, {"properties", props}},
			}}}}}},
		})
	}
	return marshal(object{{"type", "array"}, {"minItems", 1}, {"items", object{{"oneOf", items}}}})
}

// valueSchema is the schema of one value of the parameter d: d.Schema when the method gives
// one, else what its kind, bounds and words say; then its default and help.
func valueSchema(d param.Def) map[string]any {
	o := map[string]any{}
	for k, v := range d.Schema {
		o[k] = v
	}
	if d.Schema == nil {
		switch d.Kind {
		case param.KindInt:
			o["type"], o["minimum"], o["maximum"] = "integer", d.Min, d.Max
		case param.KindEnum:
			o["type"], o["enum"] = "string", d.Enum
		default:
			o["type"], o["minLength"] = "string", 1
		}
	}
	switch v := d.Default.(type) {
	case int64:
		o["default"] = v
		if d.Kind == param.KindSize {
			o["default"] = param.FormatSize(v)
		}
	case string:
		o["default"] = v
	}
	if d.Help != "" {
		o["description"] = d.Help
	}
	return o
}
