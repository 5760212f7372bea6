package spec

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"
)

// TestSchemaMethodsFromTables: the schema's `methods` section is MethodsSchema(), made from
// the methods' parameter tables; -update writes it into the schema file.
func TestSchemaMethodsFromTables(t *testing.T) {
	data, err := os.ReadFile(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	gen, err := MethodsSchema()
	if err != nil {
		t.Fatal(err)
	}
	start, end := methodsValue(t, data)
	var want bytes.Buffer
	if err := json.Indent(&want, gen, "    ", "  "); err != nil {
		t.Fatal(err)
	}
	if *update {
		data = append(append(append([]byte(nil), data[:start]...), want.Bytes()...), data[end:]...)
		if err := os.WriteFile(schemaFile, data, 0o644); err != nil {
			t.Fatal(err)
		}
		start, end = methodsValue(t, data)
	}
	var got, wantV any
	if err := json.Unmarshal(data[start:end], &got); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(gen, &wantV); err != nil {
		t.Fatal(err)
	}
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(wantV)
	if !bytes.Equal(g, w) {
		t.Errorf("%s: properties.methods is not what the methods' parameter tables say; go test ./orchestrator/spec -run SchemaMethods -update rewrites it", schemaFile)
	}
}

// methodsValue finds the byte range of the value of the top-level properties.methods.
func methodsValue(t *testing.T, data []byte) (start, end int) {
	t.Helper()
	key := []byte("\n    \"methods\": ")
	i := bytes.Index(data, key)
	if i < 0 {
		t.Fatalf("%s has no properties.methods at the usual place", schemaFile)
	}
	start = i + len(key)
	var raw json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(data[start:]))
	if err := dec.Decode(&raw); err != nil {
		t.Fatal(err)
	}
	return start, start + int(dec.InputOffset())
}
