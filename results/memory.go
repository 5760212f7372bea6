package results

import (
	"bytes"
	"fmt"
	"slices"
)

// writeMemory gives, per group, the medians over its ok cells of what the guest measured of
// read-all (the timed pass that only reads, the untimed digest pass) and of the memory at the
// end of the workload: QEMU's resident set on the host and the part of it that is mapped
// files (a pmem image the guest has read), the guest's page cache, and the guest's page
// faults over the workload (all, and the major ones that waited for I/O). Nothing when no
// cell recorded memory.
func writeMemory(b *bytes.Buffer, s *Summary) {
	type fig struct{ read, digest, rss, file, cache, faults, major []float64 }
	figs := map[string]*fig{}
	any := false
	for _, c := range s.Cells {
		if c.Status != StatusOK {
			continue
		}
		f := figs[c.Group]
		if f == nil {
			f = &fig{}
			figs[c.Group] = f
		}
		if c.Guest.VerifySeconds > 0 {
			f.read, f.digest = append(f.read, c.Guest.WorkloadSeconds), append(f.digest, c.Guest.VerifySeconds)
		}
		if m := c.Memory; m != nil {
			any = true
			f.rss, f.file = append(f.rss, mib(m.QEMURSSKiB)), append(f.file, mib(m.QEMUFileKiB))
			f.cache = append(f.cache, mib(m.GuestPageCacheKiB))
		}
		if c.Guest.PageFaults > 0 {
			f.faults, f.major = append(f.faults, float64(c.Guest.PageFaults)), append(f.major, float64(c.Guest.MajorFaults))
		}
	}
	if !any {
		return
	}
	fmt.Fprint(b, "Guest and memory figures at the end of the workload (medians; read and digest pass on the guest's clock, "+
		"read-all only; QEMU's resident set on the host, of which mapped files, and the guest's page cache, MiB; "+
		"the guest's page faults over the workload, of which major, that waited for I/O):\n\n"+
		"| group | read | digest pass | QEMU RSS | of it mapped files | guest page cache | page faults | major |\n"+
		"|---|---|---|---|---|---|---|---|\n")
	for _, g := range s.Groups {
		f := figs[g.Group]
		if g.OK == 0 || f == nil {
			continue
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", mdCode(g.Group), medDuration(f.read), medDuration(f.digest),
			medMiB(f.rss), medMiB(f.file), medMiB(f.cache), medCount(f.faults), medCount(f.major))
	}
	fmt.Fprintln(b)
}

func mib(kib int64) float64 { return float64(kib) / 1024 }

func medOf(v []float64) (float64, bool) {
	if len(v) == 0 {
		return 0, false
	}
	v = slices.Clone(v)
	slices.Sort(v)
	return median(v), true
}

func medDuration(v []float64) string {
	if m, ok := medOf(v); ok {
		return FormatDuration(m)
	}
	return "—"
}

func medMiB(v []float64) string {
	if m, ok := medOf(v); ok {
		return fmt.Sprintf("%.0f", m)
	}
	return "—"
}

func medCount(v []float64) string {
	if m, ok := medOf(v); ok {
		return fmt.Sprintf("%.0f", m)
	}
	return "—"
}

// writeCPU gives, per group, the medians over its ok cells of the host CPU time its
// processes used beside its wall time: all of it, QEMU's, the image build's, the rest
// (daemon, transfer tools), and CPU over wall (how many of the host's cores the cell kept
// busy). Nothing when no cell recorded it.
func writeCPU(b *bytes.Buffer, s *Summary) {
	type fig struct{ wall, all, qemu, build, other, share []float64 }
	figs := map[string]*fig{}
	for _, c := range s.Cells {
		if c.Status != StatusOK || c.CPU == nil {
			continue
		}
		f := figs[c.Group]
		if f == nil {
			f = &fig{}
			figs[c.Group] = f
		}
		all := c.CPU.Seconds()
		f.wall, f.all = append(f.wall, c.Wall), append(f.all, all)
		f.qemu, f.build = append(f.qemu, c.CPU.QEMUSeconds), append(f.build, c.CPU.BuildSeconds)
		f.other = append(f.other, max(0, all-c.CPU.QEMUSeconds-c.CPU.BuildSeconds))
		if c.Wall > 0 {
			f.share = append(f.share, all/c.Wall)
		}
	}
	if len(figs) == 0 {
		return
	}
	fmt.Fprint(b, "Host CPU time of each group's processes, user + system (medians over the ok cells; the rusage of the children reaped during the cell, "+
		"the cache preparation left out): all of it, QEMU's, the image build's, the rest (daemon, transfer tools), and CPU over wall time, "+
		"the host cores the cell kept busy:\n\n"+
		"| group | wall | CPU | QEMU | build | other | CPU / wall |\n|---|---|---|---|---|---|---|\n")
	for _, g := range s.Groups {
		f := figs[g.Group]
		if g.OK == 0 || f == nil {
			continue
		}
		share := "—"
		if m, ok := medOf(f.share); ok {
			share = fmt.Sprintf("%.2f", m)
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s |\n", mdCode(g.Group), medDuration(f.wall), medDuration(f.all),
			medDuration(f.qemu), medDuration(f.build), medDuration(f.other), share)
	}
	fmt.Fprintln(b)
}
