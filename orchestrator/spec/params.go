package spec

import (
	"fmt"
	"strconv"
	"strings"
)

// Kind is the type of a method parameter.
type Kind int

// Parameter kinds.
const (
	KindInt    Kind = iota // a whole number
	KindSize               // a byte count, written as 512000 or 128KiB
	KindEnum               // one of a fixed set of words
	KindString             // free text, e.g. a path
)

// ParamDef describes one parameter of a method: its type, default and what values it takes.
type ParamDef struct {
	Name    string
	Kind    Kind
	Default any      // int64 for KindInt and KindSize, string otherwise
	Enum    []string // allowed values of a KindEnum
	Min     int64    // inclusive bounds of KindInt and KindSize
	Max     int64
	Check   func(v any) error // extra rule, e.g. powers of two
	Help    string
}

// Method names, as written in a spec's `methods:` list.
const (
	Method9p        = "9p"
	MethodVirtiofs  = "virtiofs"
	MethodSquashfs  = "squashfs"
	MethodExt4      = "ext4"
	MethodErofs     = "erofs"
	MethodSSHTar    = "ssh-tar"
	MethodSerialTar = "serial-tar"
)

// NinePMaxMsize is the largest msize the Linux virtio 9p transport accepts.
const NinePMaxMsize = 512000

// SSHCiphers are the ciphers vmfsbench's SSH client and the guest agent's server both speak.
var SSHCiphers = []string{
	"chacha20-poly1305@openssh.com", "aes128-gcm@openssh.com", "aes256-gcm@openssh.com",
	"aes128-ctr", "aes192-ctr", "aes256-ctr",
}

var upperParam = ParamDef{Name: "upper", Kind: KindEnum, Default: "tmpfs", Enum: []string{"tmpfs", "disk"},
	Help: "where the overlay's upper layer lives in the guest: a tmpfs or a scratch disk"}

func powerOfTwo(v any) error {
	n := v.(int64)
	if n&(n-1) != 0 {
		return fmt.Errorf("%d is not a power of two", n)
	}
	return nil
}

func autoOrSize(v any) error {
	s := v.(string)
	if s == "auto" {
		return nil
	}
	n, err := ParseSize(s)
	if err != nil {
		return fmt.Errorf("%v, or auto", err)
	}
	if n < 1<<20 {
		return fmt.Errorf("%s is too small for an ext4 image", s)
	}
	return nil
}

// Methods lists every method and its parameters, in the order used for cell IDs.
var Methods = map[string][]ParamDef{
	Method9p: {
		{Name: "msize", Kind: KindInt, Default: int64(NinePMaxMsize), Min: 4096, Max: NinePMaxMsize,
			Help: "9p message size; the virtio transport caps it at 512000"},
		{Name: "cache", Kind: KindEnum, Default: "none", Enum: []string{"none", "loose", "fscache", "mmap"}},
		{Name: "security_model", Kind: KindEnum, Default: "none",
			Enum: []string{"none", "mapped-xattr", "mapped-file", "passthrough"}},
		upperParam,
	},
	MethodVirtiofs: {
		{Name: "cache", Kind: KindEnum, Default: "auto", Enum: []string{"always", "auto", "never"}},
		{Name: "thread_pool_size", Kind: KindInt, Default: int64(0), Min: 0, Max: 1024},
		{Name: "queue_size", Kind: KindInt, Default: int64(1024), Min: 64, Max: 1024, Check: powerOfTwo,
			Help: "virtqueue size of vhost-user-fs-pci; QEMU caps it at 1024"},
		{Name: "daemon", Kind: KindString, Default: "auto",
			Help: "virtiofsd binary, or auto to find one on the host"},
		upperParam,
	},
	MethodSquashfs: {
		{Name: "compression", Kind: KindEnum, Default: "none", Enum: []string{"none", "gzip", "lzo", "lz4", "xz", "zstd"}},
		{Name: "block_size", Kind: KindSize, Default: int64(128 << 10), Min: 4 << 10, Max: 1 << 20, Check: powerOfTwo},
		upperParam,
	},
	MethodExt4: {
		{Name: "size", Kind: KindString, Default: "auto", Check: autoOrSize,
			Help: "image size (e.g. 16GiB), or auto to size it from the tree"},
	},
	MethodErofs: {
		{Name: "compression", Kind: KindEnum, Default: "none", Enum: []string{"none", "lz4", "lz4hc"}},
		upperParam,
	},
	MethodSSHTar: {
		{Name: "cipher", Kind: KindEnum, Default: SSHCiphers[0], Enum: SSHCiphers},
		{Name: "target", Kind: KindEnum, Default: "tmpfs", Enum: []string{"tmpfs", "disk"},
			Help: "where the guest extracts the stream"},
	},
	MethodSerialTar: {
		{Name: "target", Kind: KindEnum, Default: "tmpfs", Enum: []string{"tmpfs", "disk"}},
	},
}

// MethodNames returns the method names in a fixed, documented order.
func MethodNames() []string {
	return []string{Method9p, MethodVirtiofs, MethodSquashfs, MethodExt4, MethodErofs, MethodSSHTar, MethodSerialTar}
}

// parseValue converts a scalar spec value into the parameter's type and checks it. The error
// says what was expected.
func (p ParamDef) parseValue(s string) (any, error) {
	switch p.Kind {
	case KindInt, KindSize:
		var n int64
		var err error
		if p.Kind == KindInt {
			n, err = strconv.ParseInt(s, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("%q is not a whole number", s)
			}
		} else if n, err = ParseSize(s); err != nil {
			return nil, err
		}
		if n < p.Min || n > p.Max {
			why := ""
			if p.Help != "" {
				why = " (" + p.Help + ")"
			}
			return nil, fmt.Errorf("%d is out of range %d..%d%s", n, p.Min, p.Max, why)
		}
		if p.Check != nil {
			if err := p.Check(n); err != nil {
				return nil, err
			}
		}
		return n, nil
	case KindEnum:
		for _, e := range p.Enum {
			if s == e {
				return s, nil
			}
		}
		return nil, fmt.Errorf("unknown value %q, expected one of %s", s, strings.Join(p.Enum, ", "))
	default:
		if s == "" {
			return nil, fmt.Errorf("must not be empty")
		}
		if p.Check != nil {
			if err := p.Check(s); err != nil {
				return nil, err
			}
		}
		return s, nil
	}
}

// FormatValue renders a parameter value as it appears in cell IDs and tables.
func (p ParamDef) FormatValue(v any) string {
	switch x := v.(type) {
	case int64:
		// Sizes print with a unit when they are round (128KiB, 16GiB); odd counts such as
		// 9p's 512000 stay as written.
		if p.Kind == KindSize && x >= 1<<10 && (x%(1<<20) == 0 || x&(x-1) == 0) {
			return FormatSize(x)
		}
		return strconv.FormatInt(x, 10)
	case string:
		return x
	}
	return fmt.Sprint(v)
}
