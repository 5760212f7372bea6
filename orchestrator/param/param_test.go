package param

import (
	"strings"
	"testing"
)

// Definitions shaped like the methods' own: 9p's msize (a count bounded by the transport),
// squashfs's block_size (a power-of-two size) and 9p's cache (a word from a list).
var (
	msize     = Def{Name: "msize", Kind: KindInt, Default: int64(512000), Min: 4096, Max: 512000, Help: "the virtio transport caps it at 512000"}
	blockSize = Def{Name: "block_size", Kind: KindSize, Default: int64(128 << 10), Min: 4 << 10, Max: 1 << 20, Check: PowerOfTwo}
	cache     = Def{Name: "cache", Kind: KindEnum, Default: "none", Enum: []string{"none", "loose", "fscache", "mmap"}}
	daemon    = Def{Name: "daemon", Kind: KindString, Default: "auto"}
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		def  Def
		in   string
		want any
		err  string // a substring of the error; "" for none
	}{
		{msize, "65536", int64(65536), ""},
		{msize, "4096", int64(4096), ""},
		{msize, "512000", int64(512000), ""},
		{msize, "4095", nil, "4095 is out of range 4096..512000 (the virtio transport caps it at 512000)"},
		{msize, "512001", nil, "out of range"},
		{msize, "64KiB", nil, `"64KiB" is not a whole number`},
		{msize, "", nil, "not a whole number"},
		{cache, "loose", "loose", ""},
		{cache, "Loose", nil, `unknown value "Loose", expected one of none, loose, fscache, mmap`},
		{cache, "", nil, "unknown value"},
		{blockSize, "128KiB", int64(128 << 10), ""},
		{blockSize, "1M", int64(1 << 20), ""},
		{blockSize, "4096", int64(4096), ""},
		{blockSize, "2MiB", nil, "out of range"},
		{blockSize, "2KiB", nil, "out of range"},
		{blockSize, "96KiB", nil, "98304 is not a power of two"},
		{blockSize, "lots", nil, "is not a size"},
		{daemon, "/usr/libexec/virtiofsd", "/usr/libexec/virtiofsd", ""},
		{daemon, "", nil, "must not be empty"},
	} {
		got, err := tc.def.Parse(tc.in)
		switch {
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("%s.Parse(%q) = %#v, %v; want %#v", tc.def.Name, tc.in, got, err, tc.want)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%s.Parse(%q) = %#v, %v; want an error with %q", tc.def.Name, tc.in, got, err, tc.err)
		}
	}
}

func TestPowerOfTwo(t *testing.T) {
	for n, ok := range map[int64]bool{1: true, 2: true, 4096: true, 1 << 40: true, 3: false, 96 << 10: false, 512000: false} {
		if err := PowerOfTwo(n); (err == nil) != ok {
			t.Errorf("PowerOfTwo(%d) = %v", n, err)
		}
	}
}

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		err  bool
	}{
		{"512000", 512000, false}, {"64GiB", 64 << 30, false}, {"2G", 2 << 30, false},
		{"128KiB", 128 << 10, false}, {"300MB", 300_000_000, false}, {"1.5GiB", 3 << 29, false},
		{"0", 0, false}, {"10B", 10, false}, {" 4 MiB ", 4 << 20, false},
		{"", 0, true}, {"-1", 0, true}, {"1.3B", 0, true}, {"abc", 0, true}, {"1e9", 0, true},
		{"9999999999TiB", 0, true}, {"NaN", 0, true}, {"GiB", 0, true},
	} {
		got, err := ParseSize(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d, err=%v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestFormatValue(t *testing.T) {
	for _, tc := range []struct {
		def  Def
		v    any
		want string
	}{
		{msize, int64(512000), "512000"}, {blockSize, int64(131072), "128KiB"}, {blockSize, int64(1 << 20), "1MiB"},
		{cache, "loose", "loose"},
	} {
		if got := tc.def.FormatValue(tc.v); got != tc.want {
			t.Errorf("FormatValue(%v) = %q, want %q", tc.v, got, tc.want)
		}
	}
}
