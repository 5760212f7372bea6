package llvmtree

import (
	"strings"
	"testing"

	"github.com/vmfsbench/vmfsbench/orchestrator/debarchive"
)

const sources = `Package: llvm-toolchain-15
Version: 1:15.0.6-4
Directory: pool/main/l/llvm-toolchain-15
Checksums-Sha256:
 c357851e89ddb0e0e81c60614690f439bc974452747cd129c9f125ddccdf250c 7419 llvm-toolchain-15_15.0.6-4.dsc
 076ac9fe372b3141b4fcbee80abfae34f9574fdb959cd8d14a7fd3f39ff89399 136794284 llvm-toolchain-15_15.0.6.orig.tar.xz

Package: llvm-toolchain-15
Version: 1:15.0.0-1
Directory: pool/main/l/old

Package: other
Directory: pool/main/o/other
`

func TestOrigTarball(t *testing.T) {
	idx := debarchive.ParseIndex([]byte(sources))
	o, err := origTarball(idx, "llvm-toolchain-15")
	if err != nil {
		t.Fatal(err)
	}
	if o.dir != "pool/main/l/llvm-toolchain-15" || o.name != "llvm-toolchain-15_15.0.6.orig.tar.xz" || o.upstream != "15.0.6" ||
		o.size != 136794284 || o.sha256 != "076ac9fe372b3141b4fcbee80abfae34f9574fdb959cd8d14a7fd3f39ff89399" {
		t.Errorf("orig %+v", o)
	}
	if _, err := origTarball(idx, "other"); err == nil {
		t.Error("a source without an orig tarball was taken")
	}
	if _, err := origTarball(idx, "missing"); err == nil {
		t.Error("a missing source was taken")
	}
}

// TestSiteConfig fills a template with CMake's forms and refuses one with a variable it does
// not know.
func TestSiteConfig(t *testing.T) {
	in := "@LIT_SITE_CFG_IN_HEADER@\nconfig.llvm_src_root = path(r\"@LLVM_SOURCE_DIR@\")\nconfig.have_ocamlopt = @HAVE_OCAMLOPT@\n" +
		"config.llvm_dylib_version = \"@LLVM_VERSION_MAJOR@@LLVM_VERSION_SUFFIX@\"\nx = 'user@example' # not a variable\n"
	out, err := SiteConfig(in, "15.0.6", 15, targets["riscv64"])
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"def path(p):", `path(r"../../../llvm")`, "have_ocamlopt = False", `llvm_dylib_version = "15"`, "'user@example'"} {
		if !strings.Contains(out, want) {
			t.Errorf("site config lacks %q:\n%s", want, out)
		}
	}
	if _, err := SiteConfig("x = @NEW_THING@\n", "15.0.6", 15, targets["x86_64"]); err == nil || !strings.Contains(err.Error(), "NEW_THING") {
		t.Errorf("an unknown variable: %v", err)
	}
}
