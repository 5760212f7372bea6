package synthetic

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// litVersion is part of every generated lit.cfg.py: bump it whenever GenerateLit's output
// changes.
const litVersion = 1

// Limits of LitOptions.Tests.
const (
	minLitTests = 1
	maxLitTests = 1_000_000
)

// LitLLVMBin is where the generated suite finds opt, llc, llvm-as, FileCheck, not and count
// unless lit is given `--param llvm_bin=DIR`: Debian's LLVM 15 (packages llvm-15 and
// llvm-15-tools), as in the guest root filesystem.
const LitLLVMBin = "/usr/lib/llvm-15/bin"

// LitOptions describes a generated lit test suite shaped like LLVM's own llvm/test.
type LitOptions struct {
	// Tests is the exact number of tests (.ll and .test files lit runs); inputs they read
	// from Inputs/ directories come on top.
	Tests int `json:"tests"`
	// Seed selects the suite: which tests, their names and their contents.
	Seed int64 `json:"seed"`
}

// Validate reports options GenerateLit cannot honour.
func (o LitOptions) Validate() error {
	if o.Tests < minLitTests || o.Tests > maxLitTests {
		return fmt.Errorf("lit suite: tests must be between %d and %d, not %d", minLitTests, maxLitTests, o.Tests)
	}
	return nil
}

// GenerateLit writes into dir (created if missing; build/stage2cross/test in a synthetic
// tree) a lit test suite that passes with LLVM 15's tools: lit.site.cfg.py and lit.cfg.py,
// then o.Tests tests in LLVM's directories (Transforms/InstCombine, Transforms/DCE,
// Assembler, CodeGen/{X86,AArch64,RISCV}, MC/{X86,AArch64,RISCV}, Other). Tests read their
// input from the tree (%s, or a file under Inputs/) and run opt, llc, llvm-as, llvm-dis,
// llvm-mc and llvm-nm into FileCheck, not and count; some write to %t, which lit puts in
// Output/ beside the test, so the suite must be writable (as it is under the overlay).
//
// The same options always give the same bytes, names and modes (0644, directories 0755), and
// every file and directory gets the synthetic trees' modification time. Files already in dir
// are left alone unless GenerateLit writes the same name (a synthetic tree's placeholder
// lit.site.cfg.py is replaced).
func GenerateLit(dir string, o LitOptions) error {
	files, err := litFiles(o)
	if err != nil {
		return err
	}
	made := map[string]bool{}
	var dirs []string
	for _, f := range files {
		for d := path.Dir(f.rel); d != "." && !made[d]; d = path.Dir(d) {
			made[d] = true
			dirs = append(dirs, d)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("lit suite: %w", err)
	}
	slices.Sort(dirs)
	for _, d := range dirs {
		if err := os.MkdirAll(filepath.Join(dir, filepath.FromSlash(d)), 0o755); err != nil {
			return fmt.Errorf("lit suite: %w", err)
		}
	}
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f.rel))
		if err := os.WriteFile(p, []byte(f.body), 0o644); err != nil {
			return fmt.Errorf("lit suite: %w", err)
		}
		if err := os.Chmod(p, 0o644); err != nil {
			return fmt.Errorf("lit suite: %w", err)
		}
		if err := os.Chtimes(p, syntheticTime, syntheticTime); err != nil {
			return fmt.Errorf("lit suite: %w", err)
		}
	}
	// Deepest first, so setting a child's time does not touch its parent's afterwards.
	slices.Reverse(dirs)
	for _, d := range append(dirs, ".") {
		if err := os.Chtimes(filepath.Join(dir, filepath.FromSlash(d)), syntheticTime, syntheticTime); err != nil {
			return fmt.Errorf("lit suite: %w", err)
		}
	}
	return nil
}

// litFile is one generated file, by path relative to the suite's root.
type litFile struct {
	rel, body string
}

// litKind is one kind of generated test.
type litKind struct {
	dir    string // directory of the test, relative to the suite
	prefix string // file name prefix
	weight int64
	gen    func(g *litGen, name string) (ext, body string, inputs []litFile)
}

// litKinds are the kinds of test, with their shares of the suite.
var litKinds = []litKind{
	{"Transforms/InstCombine", "", 22, (*litGen).instCombine},
	{"Transforms/InstCombine", "bitcode-", 6, (*litGen).instCombineBitcode},
	{"Transforms/DCE", "", 6, (*litGen).dce},
	{"Assembler", "", 14, (*litGen).roundTrip},
	{"Assembler", "invalid-", 8, (*litGen).invalid},
	{"Assembler", "count-", 5, (*litGen).count},
	{"CodeGen/X86", "", 8, func(g *litGen, n string) (string, string, []litFile) { return g.codegen(n, litTargets[0]) }},
	{"CodeGen/AArch64", "", 4, func(g *litGen, n string) (string, string, []litFile) { return g.codegen(n, litTargets[1]) }},
	{"CodeGen/RISCV", "", 5, func(g *litGen, n string) (string, string, []litFile) { return g.codegen(n, litTargets[2]) }},
	{"CodeGen/X86", "obj-", 5, (*litGen).object},
	{"MC/X86", "", 5, func(g *litGen, n string) (string, string, []litFile) { return g.mc(n, litTargets[0]) }},
	{"MC/AArch64", "", 2, func(g *litGen, n string) (string, string, []litFile) { return g.mc(n, litTargets[1]) }},
	{"MC/RISCV", "", 3, func(g *litGen, n string) (string, string, []litFile) { return g.mc(n, litTargets[2]) }},
	{"Other", "", 7, (*litGen).other},
}

// litFiles returns every file of the suite o, configuration first, in a fixed order.
func litFiles(o LitOptions) ([]litFile, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	g := &litGen{rng: rand.New(rand.NewPCG(uint64(o.Seed), 0x6c6974737569746^litVersion))}
	files := []litFile{
		{"lit.site.cfg.py", litSiteConfig},
		{"lit.cfg.py", fmt.Sprintf(litConfig, litVersion, o.Tests, o.Seed, LitLLVMBin)},
	}
	weights := make([]uint64, len(litKinds))
	for i, k := range litKinds {
		weights[i] = uint64(k.weight)
	}
	for i, n := range apportion(int64(o.Tests), weights) {
		k := litKinds[i]
		for j := range n {
			name := fmt.Sprintf("%s%s-%s-%d", k.prefix, g.pick(litWords), g.pick(litWords), j)
			ext, body, inputs := k.gen(g, name)
			files = append(files, litFile{k.dir + "/" + name + ext, body})
			for _, in := range inputs {
				files = append(files, litFile{k.dir + "/Inputs/" + in.rel, in.body})
			}
		}
	}
	return files, nil
}

// litSiteConfig is what lit finds first in the suite's directory, as in an LLVM build tree,
// where lit.site.cfg.py sets up the build and loads the source tree's lit.cfg.py.
const litSiteConfig = `# -*- Python -*-
# Generated by vmfsbench (tree.GenerateLit). Like an LLVM build directory's lit.site.cfg.py,
# it only loads the suite's configuration.
import os

lit_config.load_config(config, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lit.cfg.py"))
`

// litConfig is the suite's lit.cfg.py; its verbs are the version, tests, seed and LLVM bin.
const litConfig = `# -*- Python -*-
# Generated by vmfsbench (tree.GenerateLit v%d): %d tests, seed %d. Every test passes with
# Debian 12's LLVM 15 (packages llvm-15 and llvm-15-tools); give another LLVM with
# ` + "`lit --param llvm_bin=DIR`" + `.
import os
import re

import lit.formats

config.name = "vmfsbench-llvm"
config.test_format = lit.formats.ShTest(True)
config.suffixes = [".ll", ".test"]
config.excludes = ["Inputs"]

# Tests run here and write %%t under Output/ beside each test: the suite must be writable.
config.test_source_root = os.path.dirname(os.path.abspath(__file__))
config.test_exec_root = config.test_source_root

llvm_bin = lit_config.params.get("llvm_bin", %q)
config.environment["PATH"] = os.path.pathsep.join([llvm_bin, config.environment.get("PATH", "")])
config.environment["LC_ALL"] = "C"
for tool in ["opt", "llc", "llvm-as", "llvm-dis", "llvm-mc", "llvm-nm", "FileCheck", "not", "count"]:
    # A tool's name as a word of its own, not inside a path or an option.
    config.substitutions.append((r"(?<![\w./-])" + re.escape(tool) + r"(?![\w./-])", os.path.join(llvm_bin, tool)))
`

// litWords name the tests.
var litWords = []string{"fold", "combine", "select", "shift", "icmp", "const", "identity", "mask", "narrow", "widen",
	"sink", "hoist", "reassoc", "demanded", "known-bits", "canon", "poison", "undef", "chain", "dead", "roundtrip",
	"encode", "lower", "legal", "isel", "sched", "spill", "abi", "args", "ret", "global", "attrs", "flags"}

// litTypes are the integer types of generated functions.
var litTypes = []struct {
	name string
	bits int
}{{"i8", 8}, {"i16", 16}, {"i32", 32}, {"i64", 64}}

// litGen draws everything random in a suite from one seeded source.
type litGen struct {
	rng *rand.Rand
}

func (g *litGen) pick(words []string) string { return words[g.rng.IntN(len(words))] }

// between returns a number in [lo, hi].
func (g *litGen) between(lo, hi int) int { return lo + g.rng.IntN(hi-lo+1) }

// fold is a function that instcombine (LLVM 15) turns into a known body.
type fold struct {
	args   int                                  // number of arguments (%x, %y)
	result string                               // the return type when not the argument type
	body   func(ty string, nums []int) []string // instructions, the last defines %r
	want   func(ty string, nums []int) []string // CHECK-NEXT lines, after the label
	// nums draws the constants body and want use, for a type of bits bits.
	nums func(g *litGen, bits int) []int
}

// folds are instcombine's simplifications the generated tests check. Each was run through
// LLVM 15's opt: the result keeps no instruction name that could differ.
var folds = []fold{
	{args: 1, body: ops("%r = add T %x, 0"), want: rets("%x")},
	{args: 1, body: ops("%r = mul T %x, 1"), want: rets("%x")},
	{args: 1, body: ops("%r = sub T %x, %x"), want: rets("0")},
	{args: 1, body: ops("%r = xor T %x, %x"), want: rets("0")},
	{args: 1, body: ops("%r = and T %x, %x"), want: rets("%x")},
	{args: 1, body: ops("%r = or T %x, 0"), want: rets("%x")},
	{args: 1, body: ops("%r = and T %x, 0"), want: rets("0")},
	{args: 1, body: ops("%r = or T %x, -1"), want: rets("-1")},
	{args: 1, body: ops("%r = and T %x, -1"), want: rets("%x")},
	{args: 1, body: ops("%r = shl T %x, 0"), want: rets("%x")},
	{args: 1, body: ops("%r = lshr T %x, 0"), want: rets("%x")},
	{args: 1, body: ops("%r = udiv T %x, 1"), want: rets("%x")},
	{args: 1, body: ops("%r = sdiv T %x, 1"), want: rets("%x")},
	{args: 1, body: ops("%n = xor T %x, -1", "%r = xor T %n, -1"), want: rets("%x")},
	{args: 1, body: ops("%n = sub T 0, %x", "%r = sub T 0, %n"), want: rets("%x")},
	{args: 2, body: ops("%d = sub T %x, %y", "%r = add T %d, %y"), want: rets("%x")},
	{args: 2, body: ops("%r = select i1 true, T %x, T %y"), want: rets("%x")},
	{args: 2, body: ops("%r = select i1 false, T %x, T %y"), want: rets("%y")},
	{args: 1, result: "i1", body: ops("%r = icmp eq T %x, %x"), want: retsI1("true")},
	{args: 1, result: "i1", body: ops("%r = icmp ne T %x, %x"), want: retsI1("false")},
	{args: 1, result: "i1", body: ops("%r = icmp ult T %x, 0"), want: retsI1("false")},
	{args: 1, result: "i1", body: ops("%r = icmp uge T %x, 0"), want: retsI1("true")},
	{ // (x + a) + b: one add of a+b, small enough for i8.
		args: 1,
		nums: func(g *litGen, bits int) []int { return []int{g.between(1, 50), g.between(1, 50)} },
		body: func(ty string, nums []int) []string {
			return tyLines(ty, fmt.Sprintf("%%a = add T %%x, %d", nums[0]), fmt.Sprintf("%%r = add T %%a, %d", nums[1]))
		},
		want: func(ty string, nums []int) []string {
			return tyLines(ty, fmt.Sprintf("{{%%[a-z]+}} = add T %%x, %d", nums[0]+nums[1]), "ret T {{%[a-z]+}}")
		},
	},
	{ // x * 2^k: a shift.
		args: 1,
		nums: func(g *litGen, bits int) []int { return []int{g.between(1, bits-2)} },
		body: func(ty string, nums []int) []string {
			return tyLines(ty, fmt.Sprintf("%%r = mul T %%x, %d", 1<<nums[0]))
		},
		want: func(ty string, nums []int) []string {
			return tyLines(ty, fmt.Sprintf("{{%%[a-z]+}} = shl T %%x, %d", nums[0]), "ret T {{%[a-z]+}}")
		},
	},
	{ // (x << a) << b: one shift by a+b, still below the width.
		args: 1,
		nums: func(g *litGen, bits int) []int { a := g.between(1, bits-2); return []int{a, g.between(1, bits-1-a)} },
		body: func(ty string, nums []int) []string {
			return tyLines(ty, fmt.Sprintf("%%a = shl T %%x, %d", nums[0]), fmt.Sprintf("%%r = shl T %%a, %d", nums[1]))
		},
		want: func(ty string, nums []int) []string {
			return tyLines(ty, fmt.Sprintf("{{%%[a-z]+}} = shl T %%x, %d", nums[0]+nums[1]), "ret T {{%[a-z]+}}")
		},
	},
}

// ops returns a fold body of fixed instructions.
func ops(lines ...string) func(string, []int) []string {
	return func(ty string, _ []int) []string { return tyLines(ty, lines...) }
}

// rets returns a fold result that is `ret T v`.
func rets(v string) func(string, []int) []string {
	return func(ty string, _ []int) []string { return []string{"ret " + ty + " " + v} }
}

// retsI1 returns a fold result that is `ret i1 v`.
func retsI1(v string) func(string, []int) []string {
	return func(string, []int) []string { return []string{"ret i1 " + v} }
}

// tyLines replaces the placeholder type T in lines.
func tyLines(ty string, lines ...string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = strings.ReplaceAll(l, " T ", " "+ty+" ")
	}
	return out
}

// foldFunc writes one function of fold f named fn to b and returns its CHECK lines.
func (g *litGen) foldFunc(b *strings.Builder, fn string, f fold) []string {
	t := litTypes[g.rng.IntN(len(litTypes))]
	var nums []int
	if f.nums != nil {
		nums = f.nums(g, t.bits)
	}
	ret := t.name
	if f.result != "" {
		ret = f.result
	}
	params := t.name + " %x"
	if f.args == 2 {
		params += ", " + t.name + " %y"
	}
	fmt.Fprintf(b, "define %s @%s(%s) {\n", ret, fn, params)
	body := f.body(t.name, nums)
	for _, l := range body {
		fmt.Fprintf(b, "  %s\n", l)
	}
	fmt.Fprintf(b, "  ret %s %%r\n}\n\n", ret)
	checks := []string{"CHECK-LABEL: @" + fn + "("}
	for _, w := range f.want(t.name, nums) {
		checks = append(checks, "CHECK-NEXT:    "+w)
	}
	return checks
}

// instCombine is a test of 1 to 6 functions that instcombine folds.
func (g *litGen) instCombine(name string) (string, string, []litFile) {
	var b strings.Builder
	b.WriteString("; RUN: opt -passes=instcombine -S %s | FileCheck %s\n\n")
	var checks []string
	for i := range g.between(1, 6) {
		fn := fmt.Sprintf("%s_%d", ident(name), i)
		checks = append(checks, g.foldFunc(&b, fn, folds[g.rng.IntN(len(folds))])...)
	}
	writeChecks(&b, ";", checks)
	return ".ll", b.String(), nil
}

// instCombineBitcode is an instcombine test that writes bitcode to %t and reads it back.
func (g *litGen) instCombineBitcode(name string) (string, string, []litFile) {
	var b strings.Builder
	b.WriteString("; RUN: opt -passes=instcombine %s -o %t.bc\n; RUN: llvm-dis < %t.bc | FileCheck %s\n\n")
	var checks []string
	for i := range g.between(1, 4) {
		fn := fmt.Sprintf("%s_%d", ident(name), i)
		checks = append(checks, g.foldFunc(&b, fn, folds[g.rng.IntN(len(folds))])...)
	}
	writeChecks(&b, ";", checks)
	return ".ll", b.String(), nil
}

// binOps are the instructions generated functions compute with; all are free of side effects.
var binOps = []string{"add", "sub", "mul", "and", "or", "xor", "shl", "lshr", "ashr"}

// dce is a test that dead code elimination removes the unused instructions of functions.
func (g *litGen) dce(name string) (string, string, []litFile) {
	var b strings.Builder
	b.WriteString("; RUN: opt -passes=dce -S %s | FileCheck %s\n\n")
	var checks []string
	for i := range g.between(1, 4) {
		fn := fmt.Sprintf("%s_%d", ident(name), i)
		t := litTypes[g.rng.IntN(len(litTypes))].name
		fmt.Fprintf(&b, "define %s @%s(%s %%x, %s %%y) {\n", t, fn, t, t)
		live := 0
		prev := "%x"
		for j := range g.between(2, 8) {
			op := binOps[g.rng.IntN(len(binOps))]
			rhs := "%y"
			if op == "shl" || op == "lshr" || op == "ashr" {
				rhs = fmt.Sprint(g.between(1, 7))
			}
			if g.rng.IntN(2) == 0 {
				fmt.Fprintf(&b, "  %%dead%d = %s %s %s, %s\n", j, op, t, prev, rhs)
				continue
			}
			fmt.Fprintf(&b, "  %%live%d = %s %s %s, %s\n", live, op, t, prev, rhs)
			prev = fmt.Sprintf("%%live%d", live)
			live++
		}
		fmt.Fprintf(&b, "  ret %s %s\n}\n\n", t, prev)
		checks = append(checks, "CHECK-LABEL: @"+fn+"(", "CHECK-NOT:   %dead", fmt.Sprintf("CHECK:       ret %s %s", t, prev))
	}
	writeChecks(&b, ";", checks)
	return ".ll", b.String(), nil
}

// irFunc writes a function computing a random chain of instructions (with flags where the
// instruction takes them) over two arguments and returns its lines as llvm-dis prints them.
func (g *litGen) irFunc(b *strings.Builder, fn string) []string {
	t := litTypes[g.rng.IntN(len(litTypes))].name
	lines := []string{fmt.Sprintf("define %s @%s(%s %%a, %s %%b) {", t, fn, t, t)}
	prev := "%a"
	for j := range g.between(1, 6) {
		op := binOps[g.rng.IntN(len(binOps))]
		flags := ""
		switch op {
		case "add", "sub", "mul", "shl":
			flags = []string{"", "nsw ", "nuw ", "nuw nsw "}[g.rng.IntN(4)]
		case "lshr", "ashr":
			flags = []string{"", "exact "}[g.rng.IntN(2)]
		}
		rhs := "%b"
		if g.rng.IntN(3) == 0 {
			rhs = fmt.Sprint(g.between(1, 7))
		}
		lines = append(lines, fmt.Sprintf("  %%v%d = %s %s%s %s, %s", j, op, flags, t, prev, rhs))
		prev = fmt.Sprintf("%%v%d", j)
	}
	lines = append(lines, fmt.Sprintf("  ret %s %s", t, prev), "}")
	for _, l := range lines {
		b.WriteString(l + "\n")
	}
	b.WriteString("\n")
	return lines
}

// roundTrip is a test that globals and functions survive llvm-as and llvm-dis unchanged.
func (g *litGen) roundTrip(name string) (string, string, []litFile) {
	var b strings.Builder
	b.WriteString("; RUN: llvm-as < %s | llvm-dis | FileCheck %s\n\n")
	var checks []string
	id := ident(name)
	for i := range g.between(0, 3) {
		t := litTypes[g.rng.IntN(len(litTypes))]
		v := g.rng.IntN(1 << min(t.bits-1, 16))
		if g.rng.IntN(4) == 0 {
			v = -v
		}
		l := fmt.Sprintf("@%s_g%d = %sglobal %s %d", id, i, []string{"", "internal ", "private "}[g.rng.IntN(3)], t.name, v)
		b.WriteString(l + "\n")
		checks = append(checks, "CHECK: "+l)
	}
	if g.rng.IntN(2) == 0 {
		s := g.pick(litWords)
		l := fmt.Sprintf("@%s_str = constant [%d x i8] c\"%s\"", id, len(s), s)
		b.WriteString(l + "\n")
		checks = append(checks, "CHECK: "+l)
	}
	b.WriteString("\n")
	for i := range g.between(1, 4) {
		lines := g.irFunc(&b, fmt.Sprintf("%s_%d", id, i))
		checks = append(checks, "CHECK-LABEL: "+lines[0])
		for _, l := range lines[1:] {
			checks = append(checks, "CHECK-NEXT:  "+strings.TrimSpace(l))
		}
	}
	writeChecks(&b, ";", checks)
	return ".ll", b.String(), nil
}

// invalidIR are broken modules and llvm-as's error for each; NAME stands for a fresh name.
var invalidIR = []struct{ ir, err string }{
	{"define i32 @NAME(i32 %x) {\n  %r = add i32 %x, %NAME_y\n  ret i32 %r\n}\n", "use of undefined value '%NAME_y'"},
	{"define i32 @NAME(i64 %x) {\n  ret i32 %x\n}\n", "'%x' defined with type 'i64' but expected 'i32'"},
	{"define i16 @NAME(float %x) {\n  %r = add i16 %x, 1\n  ret i16 %r\n}\n", "'%x' defined with type 'float' but expected 'i16'"},
	{"@NAME = global i32 1\n@NAME = global i32 2\n", "redefinition of global '@NAME'"},
	{"define void @NAME() {\n  ret void\n}\n\ndefine void @NAME() {\n  ret void\n}\n", "invalid redefinition of function 'NAME'"},
	{"define i32 @NAME(i32 %x) {\n  %x = add i32 1, 2\n  ret i32 %x\n}\n", "multiple definition of local value named 'x'"},
	{"define i32 @NAME() {\n  %r = frobnicate i32 1\n  ret i32 %r\n}\n", "expected instruction opcode"},
	{"define i32 @NAME() {\n  %r = load i32, ptr @NAME_missing\n  ret i32 %r\n}\n", "use of undefined value '@NAME_missing'"},
	{"define void @NAME() {\n  br label %NAME_nowhere\n}\n", "use of undefined value '%NAME_nowhere'"},
}

// invalid is a test that llvm-as rejects a broken module with the right error.
func (g *litGen) invalid(name string) (string, string, []litFile) {
	c := invalidIR[g.rng.IntN(len(invalidIR))]
	id := ident(name)
	var b strings.Builder
	b.WriteString("; RUN: not llvm-as < %s -o /dev/null 2>&1 | FileCheck %s\n\n")
	b.WriteString(strings.ReplaceAll(c.ir, "NAME", id) + "\n")
	writeChecks(&b, ";", []string{"CHECK: <stdin>:{{[0-9]+}}:{{[0-9]+}}: error: " + strings.ReplaceAll(c.err, "NAME", id)})
	return ".ll", b.String(), nil
}

// count is a test that counts the functions llvm-dis prints.
func (g *litGen) count(name string) (string, string, []litFile) {
	var b strings.Builder
	n := g.between(1, 8)
	fmt.Fprintf(&b, "; RUN: llvm-as < %%s | llvm-dis | grep '^define ' | count %d\n\n", n)
	for i := range n {
		g.irFunc(&b, fmt.Sprintf("%s_%d", ident(name), i))
	}
	return ".ll", b.String(), nil
}

// target is an LLVM target the generated CodeGen and MC tests use.
type target struct {
	triple string
	ret    string            // the return instruction in llc's output
	asm    map[string]string // llc's instruction for `op iN %x, %y` (key "op iN")
	mc     []mcInstr         // instructions llvm-mc encodes
	mcNote string            // the assembler's comment leader
	// shl is llc's instruction for `shl i64 %x, K` (%d is K) for K in [shlMin, 62]; x86-64
	// uses lea below 4.
	shl    string
	shlMin int
}

// mcInstr is an instruction, as written and as llvm-mc -show-encoding prints it.
type mcInstr struct{ in, out, enc string }

// litTargets are the CodeGen and MC targets, as LLVM 15 prints them (each checked with its llc
// and llvm-mc).
var litTargets = []target{
	{
		triple: "x86_64", ret: "retq", shl: "shlq $%d, %%rax", shlMin: 4,
		asm: map[string]string{
			"add i32": "leal (%rdi,%rsi), %eax", "sub i32": "subl %esi, %eax", "and i32": "andl %esi, %eax",
			"or i32": "orl %esi, %eax", "xor i32": "xorl %esi, %eax",
			"add i64": "leaq (%rdi,%rsi), %rax", "sub i64": "subq %rsi, %rax", "and i64": "andq %rsi, %rax",
			"or i64": "orq %rsi, %rax", "xor i64": "xorq %rsi, %rax",
		},
		mcNote: "#",
		mc: []mcInstr{
			{"nop", "nop", "[0x90]"}, {"ret", "retq", "[0xc3]"}, {"movl %eax, %ebx", "movl %eax, %ebx", "[0x89,0xc3]"},
			{"movq %rax, %rbx", "movq %rax, %rbx", "[0x48,0x89,0xc3]"}, {"addl %ecx, %edx", "addl %ecx, %edx", "[0x01,0xca]"},
			{"xorl %eax, %eax", "xorl %eax, %eax", "[0x31,0xc0]"}, {"pushq %rbp", "pushq %rbp", "[0x55]"},
			{"popq %rbp", "popq %rbp", "[0x5d]"}, {"incl %eax", "incl %eax", "[0xff,0xc0]"}, {"int3", "int3", "[0xcc]"},
			{"leave", "leave", "[0xc9]"}, {"hlt", "hlt", "[0xf4]"},
		},
	},
	{
		triple: "aarch64", ret: "ret", shl: "lsl x0, x0, #%d", shlMin: 1,
		asm: map[string]string{
			"add i32": "add w0, w0, w1", "sub i32": "sub w0, w0, w1", "and i32": "and w0, w0, w1",
			"or i32": "orr w0, w0, w1", "xor i32": "eor w0, w0, w1",
			"add i64": "add x0, x0, x1", "sub i64": "sub x0, x0, x1", "and i64": "and x0, x0, x1",
			"or i64": "orr x0, x0, x1", "xor i64": "eor x0, x0, x1",
		},
		mcNote: "//",
		mc: []mcInstr{
			{"add x0, x1, x2", "add x0, x1, x2", "[0x20,0x00,0x02,0x8b]"}, {"ret", "ret", "[0xc0,0x03,0x5f,0xd6]"},
			{"nop", "nop", "[0x1f,0x20,0x03,0xd5]"}, {"mov x0, x1", "mov x0, x1", "[0xe0,0x03,0x01,0xaa]"},
		},
	},
	{
		triple: "riscv64", ret: "ret", shl: "slli a0, a0, %d", shlMin: 1,
		asm: map[string]string{
			"add i32": "addw a0, a0, a1", "sub i32": "subw a0, a0, a1", "and i32": "and a0, a0, a1",
			"or i32": "or a0, a0, a1", "xor i32": "xor a0, a0, a1",
			"add i64": "add a0, a0, a1", "sub i64": "sub a0, a0, a1", "and i64": "and a0, a0, a1",
			"or i64": "or a0, a0, a1", "xor i64": "xor a0, a0, a1",
		},
		mcNote: "#",
		mc: []mcInstr{
			{"add a0, a1, a2", "add a0, a1, a2", "[0x33,0x85,0xc5,0x00]"}, {"ret", "ret", "[0x67,0x80,0x00,0x00]"},
			{"nop", "nop", "[0x13,0x00,0x00,0x00]"}, {"addi a0, a0, 1", "addi a0, a0, 1", "[0x13,0x05,0x15,0x00]"},
		},
	},
}

// codegen is a test of llc's code for functions of one instruction.
func (g *litGen) codegen(name string, t target) (string, string, []litFile) {
	var b strings.Builder
	fmt.Fprintf(&b, "; RUN: llc -mtriple=%s < %%s | FileCheck %%s\n\n", t.triple)
	var checks []string
	keys := make([]string, 0, len(t.asm))
	for k := range t.asm {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for i := range g.between(1, 5) {
		fn := fmt.Sprintf("%s_%d", ident(name), i)
		checks = append(checks, "CHECK-LABEL: "+fn+":")
		if g.rng.IntN(4) == 0 {
			k := g.between(t.shlMin, 62)
			fmt.Fprintf(&b, "define i64 @%s(i64 %%x) {\n  %%r = shl i64 %%x, %d\n  ret i64 %%r\n}\n\n", fn, k)
			checks = append(checks, "CHECK:       "+fmt.Sprintf(t.shl, k))
		} else {
			k := keys[g.rng.IntN(len(keys))]
			op, ty, _ := strings.Cut(k, " ")
			fmt.Fprintf(&b, "define %s @%s(%s %%x, %s %%y) {\n  %%r = %s %s %%x, %%y\n  ret %s %%r\n}\n\n", ty, fn, ty, ty, op, ty, ty)
			checks = append(checks, "CHECK:       "+t.asm[k])
		}
		checks = append(checks, "CHECK:       "+t.ret)
	}
	writeChecks(&b, ";", checks)
	return ".ll", b.String(), nil
}

// object is a test that llc writes an x86-64 object to %t whose symbols llvm-nm lists.
func (g *litGen) object(name string) (string, string, []litFile) {
	var b strings.Builder
	b.WriteString("; RUN: llc -filetype=obj -mtriple=x86_64 %s -o %t.o\n; RUN: llvm-nm %t.o | FileCheck %s\n\n")
	var checks []string
	for i := range g.between(1, 4) {
		fn := fmt.Sprintf("%s_%d", ident(name), i)
		g.irFunc(&b, fn)
		checks = append(checks, "CHECK-DAG: {{^[0-9a-f]+}} T "+fn+"{{$}}")
	}
	writeChecks(&b, ";", checks)
	return ".ll", b.String(), nil
}

// mc is a test of llvm-mc's encodings, of an assembly file under Inputs/.
func (g *litGen) mc(name string, t target) (string, string, []litFile) {
	var src strings.Builder
	var checks []string
	for range g.between(1, 12) {
		in := t.mc[g.rng.IntN(len(t.mc))]
		src.WriteString("\t" + in.in + "\n")
		checks = append(checks, fmt.Sprintf("CHECK: %s %s encoding: %s", in.out, t.mcNote, in.enc))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# RUN: llvm-mc -triple=%s -show-encoding %%S/Inputs/%s.s | FileCheck %%s\n\n", t.triple, name)
	writeChecks(&b, "#", checks)
	return ".test", b.String(), []litFile{{name + ".s", src.String()}}
}

// other is a tools test over an IR file under Inputs/: opt verifies it, rejects a pass that
// does not exist, or prints what it was given.
func (g *litGen) other(name string) (string, string, []litFile) {
	var in strings.Builder
	id := ident(name)
	first := g.irFunc(&in, id+"_0")[0]
	var b strings.Builder
	switch g.rng.IntN(3) {
	case 0:
		fmt.Fprintf(&b, "# RUN: opt -passes=verify -disable-output %%S/Inputs/%s.ll\n", name)
	case 1:
		pass := "no-such-" + g.pick(litWords) + "-pass"
		fmt.Fprintf(&b, "# RUN: not opt -passes=%s -disable-output %%S/Inputs/%s.ll 2>&1 | FileCheck %%s\n\n", pass, name)
		writeChecks(&b, "#", []string{fmt.Sprintf("CHECK: unknown pass name '%s'", pass)})
	default:
		fmt.Fprintf(&b, "# RUN: opt -S %%S/Inputs/%s.ll -o %%t.ll\n# RUN: FileCheck %%s < %%t.ll\n\n", name)
		writeChecks(&b, "#", []string{"CHECK: " + first})
	}
	return ".test", b.String(), []litFile{{name + ".ll", in.String()}}
}

// writeChecks writes FileCheck lines after the comment leader.
func writeChecks(b *strings.Builder, leader string, checks []string) {
	for _, c := range checks {
		b.WriteString(leader + " " + c + "\n")
	}
}

// ident turns a test name into an IR identifier.
func ident(name string) string { return strings.ReplaceAll(name, "-", "_") }
