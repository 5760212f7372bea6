package probe

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAccelRemembered: on a host whose KVM hangs, the first auto choice boots the probe guest
// and falls back to tcg; a second one in the same host boot boots nothing and says the verdict
// was remembered; after a reboot (another boot_id) the probe boots again. The host's /dev/kvm
// is stood in for (a fault case: this lab has no usable KVM).
func TestAccelRemembered(t *testing.T) {
	dir := t.TempDir()
	bootID := filepath.Join(dir, "boot_id")
	oldID, oldChoose := bootIDFile, chooseAccel
	t.Cleanup(func() { bootIDFile, chooseAccel = oldID, oldChoose })
	bootIDFile = bootID
	chooseAccel = func(ctx context.Context, want string, probe func(context.Context, string) error) (string, string, error) {
		if want != "auto" {
			return oldChoose(ctx, want, probe)
		}
		if err := probe(ctx, "kvm"); err != nil { // /dev/kvm opens: the probe boots
			return "tcg", "kvm probe boot did not reach the agent within 10s: " + err.Error(), nil
		}
		return "kvm", "kvm probe boot reached the agent", nil
	}
	boots := 0
	hangs := func(context.Context, string) error { boots++; return errors.New("timed out") }
	cache := filepath.Join(dir, "cache")
	for i, tc := range []struct {
		bootID     string
		wantBoots  int
		remembered bool
	}{{"boot-1", 1, false}, {"boot-1", 1, true}, {"boot-2", 2, false}, {"boot-2", 2, true}} {
		if err := os.WriteFile(bootID, []byte(tc.bootID+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		accel, reason, err := Accel(context.Background(), cache, "auto", "x86_64", hangs)
		if err != nil || accel != "tcg" {
			t.Fatalf("choice %d: %s, %v", i+1, accel, err)
		}
		if boots != tc.wantBoots || strings.HasPrefix(reason, Remembered) != tc.remembered {
			t.Errorf("choice %d (%s): %d probe boots so far, reason %q; want %d boots, remembered %v",
				i+1, tc.bootID, boots, reason, tc.wantBoots, tc.remembered)
		}
	}
	// A choice the user made boots nothing and remembers nothing.
	if accel, reason, err := Accel(context.Background(), cache, "tcg", "x86_64", hangs); err != nil || accel != "tcg" || reason != "tcg requested" {
		t.Errorf("tcg: %s %q %v", accel, reason, err)
	}
}
