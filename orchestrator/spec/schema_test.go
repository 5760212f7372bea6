package spec

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"
)

const schemaFile = "../../schemas/experiment.schema.json"

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	s, err := c.Compile(schemaFile)
	if err != nil {
		t.Fatalf("compile %s: %v", schemaFile, err)
	}
	return s
}

// yamlToJSON decodes YAML the way an editor's YAML language server would before validating.
func yamlToJSON(t *testing.T, data []byte) (any, error) {
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		return nil, err
	}
	j, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("yaml to json: %v", err)
	}
	return jsonschema.UnmarshalJSON(bytes.NewReader(j))
}

func TestSchemaAcceptsShippedSpecs(t *testing.T) {
	s := compileSchema(t)
	files, _ := filepath.Glob("../../specs/*.yaml")
	files = append(files, "testdata/three-mistakes.yaml")
	for _, f := range files {
		data := mustRead(t, f)
		v, err := yamlToJSON(t, data)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		err = s.Validate(v)
		if f == "testdata/three-mistakes.yaml" {
			if err == nil {
				t.Errorf("%s: schema accepts a spec the loader rejects", f)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", f, err)
		}
		if !bytes.HasPrefix(data, []byte("# yaml-language-server: $schema=../schemas/experiment.schema.json\n")) {
			t.Errorf("%s: first line is not the yaml-language-server $schema comment", f)
		}
	}
}

// TestSchemaAgreesWithLoader runs the loader's table of bad specs through the schema: each
// must be rejected by both, except the few rules JSON Schema cannot state.
func TestSchemaAgreesWithLoader(t *testing.T) {
	s := compileSchema(t)
	for _, tc := range badSpecs {
		if schemaMisses[tc.name] {
			continue
		}
		v, err := yamlToJSON(t, []byte(tc.yaml))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if err := s.Validate(v); err == nil {
			t.Errorf("%s: the loader rejects this spec but the schema accepts it", tc.name)
		}
	}
	// A good minimal spec is accepted by both.
	good := "version: 1\nname: x\ntree: {path: /t}\nmethods: [ext4: {}, 9p: {msize: [8192, 512000]}]\n"
	if _, err := Parse("good.yaml", []byte(good)); err != nil {
		t.Fatal(err)
	}
	v, _ := yamlToJSON(t, []byte(good))
	if err := s.Validate(v); err != nil {
		t.Errorf("schema rejects a good spec: %v", err)
	}
}
