package testenv

import "testing"

func TestInCI(t *testing.T) {
	for v, want := range map[string]bool{"": false, "false": false, "0": false, "true": true, "1": true, "yes": true} {
		t.Setenv("CI", v)
		if got := InCI(); got != want {
			t.Errorf("CI=%q: InCI() = %v, want %v", v, got, want)
		}
	}
}

func TestLookTool(t *testing.T) {
	if _, err := LookTool("sh"); err != nil {
		t.Errorf("LookTool(sh): %v", err)
	}
	if _, err := LookTool("no-such-tool-vmfsbench"); err == nil {
		t.Error("LookTool of a missing tool: no error")
	}
	if _, err := LookTool("/no/such/tool"); err == nil {
		t.Error("LookTool of a missing path: no error")
	}
}
