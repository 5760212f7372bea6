package mountinfo

import "testing"

func TestUnescape(t *testing.T) {
	for in, want := range map[string]string{`/a\040b`: "/a b", `/plain`: "/plain", `/tab\011x\134`: "/tab\tx\\", `/short\04`: `/short\04`} {
		if got := Unescape(in); got != want {
			t.Errorf("Unescape(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParse(t *testing.T) {
	text := "22 1 0:21 / / rw - rootfs rootfs rw\n" +
		"30 22 259:0 / /vmfsbench/lower ro,relatime shared:1 - erofs /dev/pmem0 ro,dax=always\n" +
		"31 22 0:40 / /a\\040b rw - 9p my\\040tree rw,msize=512000\n" +
		"garbage line\n"
	got := Parse(text)
	want := []Mount{
		{Point: "/", Options: "rw", FSType: "rootfs", Source: "rootfs", Super: "rw"},
		{Point: "/vmfsbench/lower", Options: "ro,relatime", FSType: "erofs", Source: "/dev/pmem0", Super: "ro,dax=always"},
		{Point: "/a b", Options: "rw", FSType: "9p", Source: "my tree", Super: "rw,msize=512000"},
	}
	if len(got) != len(want) {
		t.Fatalf("Parse = %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("mount %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	ms, err := Read()
	root := false
	for _, m := range ms {
		root = root || m.Point == "/"
	}
	if err != nil || !root {
		t.Errorf("Read = %+v, %v: no mount at /", ms, err)
	}
}
