package results

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

const resultSchema = "../schemas/result.schema.json"

// compileResultSchema compiles one definition of the result schema, or the whole schema for
// def "", asserting formats (date-time) too.
func compileResultSchema(t *testing.T, def string) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	loc := resultSchema
	if def != "" {
		loc += "#/$defs/" + def
	}
	s, err := c.Compile(loc)
	if err != nil {
		t.Fatalf("compile %s: %v", loc, err)
	}
	return s
}

func validateFile(t *testing.T, s *jsonschema.Schema, path string) error {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return validateBytes(t, s, data)
}

func validateBytes(t *testing.T, s *jsonschema.Schema, data []byte) error {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	return s.Validate(v)
}

// TestSchemaAcceptsOutputs validates every fixture cell (the TCG ones are real output of
// `vmfsbench run`), run.json files, and the summary.json Regenerate writes for each fixture,
// against both the specific definition and the whole schema (whose oneOf must pick exactly
// one).
func TestSchemaAcceptsOutputs(t *testing.T) {
	whole := compileResultSchema(t, "")
	cell, run, summary := compileResultSchema(t, "cell"), compileResultSchema(t, "run"), compileResultSchema(t, "summary")
	cells, _ := filepath.Glob("testdata/runs/*/cells/*.json")
	if len(cells) < 40 {
		t.Fatalf("found %d fixture cells, want the seed and TCG fixtures", len(cells))
	}
	for _, f := range cells {
		if err := validateFile(t, cell, f); err != nil {
			t.Errorf("%s: %v", f, err)
		}
		if err := validateFile(t, whole, f); err != nil {
			t.Errorf("%s (whole schema): %v", f, err)
		}
	}
	metas, _ := filepath.Glob("testdata/runs/*/run.json")
	for _, f := range metas {
		if err := validateFile(t, run, f); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	for _, fixture := range []string{"seed-a", "seed-b", "tcg-9p"} {
		dir := copyRun(t, filepath.Join("testdata", "runs", fixture))
		if _, err := Regenerate(dir, RegenerateOptions{}); err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(dir, SummaryJSON)
		if err := validateFile(t, summary, f); err != nil {
			t.Errorf("%s summary.json: %v", fixture, err)
		}
		if err := validateFile(t, whole, f); err != nil {
			t.Errorf("%s summary.json (whole schema): %v", fixture, err)
		}
	}
}

// TestSchemaRejects checks that the schema is not a rubber stamp: each mutation of a valid
// cell is refused.
func TestSchemaRejects(t *testing.T) {
	s := compileResultSchema(t, "")
	good, err := os.ReadFile("testdata/runs/tcg-9p/cells/9p.msize-65536.cache-loose__asis__r1.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := validateBytes(t, s, good); err != nil {
		t.Fatalf("the unmodified cell is rejected: %v", err)
	}
	for _, tc := range []struct{ name, old, new string }{
		{"no id", `"id": "9p.msize=65536.cache=loose/asis/r1",`, ``},
		{"unknown status", `"status": "ok"`, `"status": "running"`},
		{"ok with an error", `"status": "ok",`, `"status": "ok", "error": "x",`},
		{"failed without an error", `"status": "ok"`, `"status": "failed"`},
		{"negative total", `"total": `, `"total": -1, "x_total": `},
		{"bad time", `"start": "2026`, `"start": "yesterday 2026`},
		{"unknown field", `"accel": "tcg"`, `"accel": "tcg", "colour": "red"`},
		{"bad cache", `"cache": "asis"`, `"cache": "lukewarm"`},
		{"short digest", `"digest": "`, `"digest": "abc`},
	} {
		bad := strings.Replace(string(good), tc.old, tc.new, 1)
		if bad == string(good) {
			t.Fatalf("%s: mutation did not apply", tc.name)
		}
		if err := validateBytes(t, s, []byte(bad)); err == nil {
			t.Errorf("%s: the schema accepts it", tc.name)
		}
	}
}
