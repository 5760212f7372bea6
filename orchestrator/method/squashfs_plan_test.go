package method_test

import (
	"os"

	"github.com/vmfsbench/vmfsbench/orchestrator/method"
	"github.com/vmfsbench/vmfsbench/orchestrator/plan"
)

// The plan of a one-cell squashfs spec at its defaults: the method's golden.
func ExampleSquashfs_plan() {
	plan.WriteOneCell(os.Stdout, method.Squashfs{}.Name(), "")
	// Output:
	// plan one-cell (one-cell.yaml): 1 cells, 1 repetition, order interleaved
	// guest x86_64, 2 cpus, 2GiB memory, accel auto, mountpoint /root/llvm-project
	// exclude .git build/* !build/stage2cross
	// owner 1001:1001
	// workload builtin read-all, timeout 30m0s
	//
	// cell 1/1 squashfs/empty/r1
	//   params   (the defaults)
	//   modules  virtio_pci virtio_console virtio_blk squashfs overlay
	//   1. prepare-cache drop the host page cache (sync; echo 3 > /proc/sys/vm/drop_caches, checked in /proc/meminfo)
	//   2. build-image   write the 1 excluded paths to /runs/demo/20261124-101500/work/squashfs__empty__r1/exclude.list, then build the squashfs image
	//        $ mksquashfs /src/tree /runs/demo/20261124-101500/work/squashfs__empty__r1/tree.sqfs -noappend -quiet -no-progress -no-xattrs -b 131072 -noI -noId -noD -noF -noX -force-uid 1001 -force-gid 1001 -wildcards -ef /runs/demo/20261124-101500/work/squashfs__empty__r1/exclude.list
	//   3. initramfs     write the initramfs /runs/demo/20261124-101500/work/squashfs__empty__r1/initrd.cpio: the cached base archive (the agent, the packed modules) and the cell's job
	//   4. boot          boot the guest; the agent loads the packed modules
	//        $ qemu-system-x86_64 -nodefaults -display none -no-reboot -machine q35 -accel tcg -cpu max -smp 2 -m 2048M -chardev file,id=con0,path=/runs/demo/20261124-101500/logs/squashfs__empty__r1/console.log -serial chardev:con0 -kernel /boot/vmlinuz -initrd /runs/demo/20261124-101500/work/squashfs__empty__r1/initrd.cpio -append 'console=ttyS0 panic=-1 quiet no_timer_check' -device virtio-serial-pci -chardev socket,id=chr0,path=/tmp/vmfsbench.XXXXXX/71fca8f4/ctl.sock -device virtserialport,chardev=chr0,name=ctl -drive file=/runs/demo/20261124-101500/work/squashfs__empty__r1/tree.sqfs,if=none,id=drive0,format=raw,readonly=on -device virtio-blk-pci,drive=drive0
	//   5. mount         present the tree at /root/llvm-project
	//        guest# mount -t squashfs -o ro /dev/vda /vmfsbench/lower
	//        guest# mount -t overlay -o lowerdir=/vmfsbench/lower,upperdir=<tmpfs>/upper,workdir=<tmpfs>/work overlay /root/llvm-project
	//   6. workload      run the workload (timeout 30m0s)
	//        guest# vmfsbench-agent read-all /root/llvm-project
	//   7. teardown      guest powers off; stop helpers; remove the cell's images and sockets
}
