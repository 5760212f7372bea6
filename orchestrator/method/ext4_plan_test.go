package method_test

import (
	"os"

	"github.com/vmfsbench/vmfsbench/orchestrator/method"
	"github.com/vmfsbench/vmfsbench/orchestrator/plan"
)

// The plan of a one-cell ext4 spec at its defaults: the method's golden.
func ExampleExt4_plan() {
	plan.WriteOneCell(os.Stdout, method.Ext4{}.Name(), "")
	// Output:
	// plan one-cell (one-cell.yaml): 1 cells, 1 repetition, order interleaved
	// guest x86_64, 2 cpus, 2GiB memory, accel auto, mountpoint /root/llvm-project
	// exclude .git build/* !build/stage2cross
	// owner 1001:1001
	// workload builtin read-all, timeout 30m0s
	//
	// cell 1/1 ext4/empty/r1
	//   params   (the defaults)
	//   modules  virtio_pci virtio_console virtio_blk crc32c_generic ext4
	//   1. prepare-cache drop the host page cache (sync; echo 3 > /proc/sys/vm/drop_caches, checked in /proc/meminfo)
	//   2. build-image   build the ext4 image of the filtered tree, every file owned by 1001:1001 (route view); debugfs then gives the root directory the tree root's mode, owner and mtime and removes lost+found
	//        $ mkfs.ext4 -q -F -t ext4 -O '^has_journal' -m 0 -E lazy_itable_init=0,lazy_journal_init=0 -N 4096 -d /runs/demo/20261124-101500/work/ext4__empty__r1/view/view /runs/demo/20261124-101500/work/ext4__empty__r1/tree.ext4 65536k
	//        $ debugfs -w -f /runs/demo/20261124-101500/work/ext4__empty__r1/ext4-fixup.debugfs /runs/demo/20261124-101500/work/ext4__empty__r1/tree.ext4
	//   3. initramfs     write the initramfs /runs/demo/20261124-101500/work/ext4__empty__r1/initrd.cpio: the cached base archive (the agent, the packed modules) and the cell's job
	//   4. boot          boot the guest; the agent loads the packed modules
	//        $ qemu-system-x86_64 -nodefaults -display none -no-reboot -machine q35 -accel tcg -cpu max -smp 2 -m 2048M -chardev file,id=con0,path=/runs/demo/20261124-101500/logs/ext4__empty__r1/console.log -serial chardev:con0 -kernel /boot/vmlinuz -initrd /runs/demo/20261124-101500/work/ext4__empty__r1/initrd.cpio -append 'console=ttyS0 panic=-1 quiet no_timer_check' -device virtio-serial-pci -chardev socket,id=chr0,path=/tmp/vmfsbench.XXXXXX/ccc9b264/ctl.sock -device virtserialport,chardev=chr0,name=ctl -drive file=/runs/demo/20261124-101500/work/ext4__empty__r1/tree.ext4,if=none,id=drive0,format=raw,snapshot=on -device virtio-blk-pci,drive=drive0
	//   5. mount         present the tree at /root/llvm-project
	//        guest# mount -t ext4 /dev/vda /root/llvm-project
	//   6. workload      run the workload (timeout 30m0s)
	//        guest# vmfsbench-agent read-all /root/llvm-project
	//   7. teardown      guest powers off; stop helpers; remove the cell's images and sockets
}

// The plan of a one-cell ext4 spec with device: pmem: the device's golden.
func ExampleExt4_planPmem() {
	plan.WriteOneCell(os.Stdout, method.Ext4{}.Name(), "device: pmem")
	// Output:
	// plan one-cell (one-cell.yaml): 1 cells, 1 repetition, order interleaved
	// guest x86_64, 2 cpus, 2GiB memory, accel auto, mountpoint /root/llvm-project
	// exclude .git build/* !build/stage2cross
	// owner 1001:1001
	// workload builtin read-all, timeout 30m0s
	//
	// cell 1/1 ext4.device=pmem/empty/r1
	//   params   device=pmem
	//   modules  virtio_pci virtio_console libnvdimm nd_btt nd_pmem nd_virtio virtio_pmem crc32c_generic ext4
	//   1. prepare-cache drop the host page cache (sync; echo 3 > /proc/sys/vm/drop_caches, checked in /proc/meminfo)
	//   2. build-image   build the ext4 image of the filtered tree, every file owned by 1001:1001 (route view); debugfs then gives the root directory the tree root's mode, owner and mtime and removes lost+found; 4 KiB blocks, for DAX
	//        $ mkfs.ext4 -q -F -t ext4 -O '^has_journal' -m 0 -b 4096 -E lazy_itable_init=0,lazy_journal_init=0 -N 4096 -d /runs/demo/20261124-101500/work/ext4.device-pmem__empty__r1/view/view /runs/demo/20261124-101500/work/ext4.device-pmem__empty__r1/tree.ext4 65536k
	//        $ debugfs -w -f /runs/demo/20261124-101500/work/ext4.device-pmem__empty__r1/ext4-fixup.debugfs /runs/demo/20261124-101500/work/ext4.device-pmem__empty__r1/tree.ext4
	//   3. initramfs     write the initramfs /runs/demo/20261124-101500/work/ext4.device-pmem__empty__r1/initrd.cpio: the cached base archive (the agent, the packed modules) and the cell's job
	//   4. boot          boot the guest; the agent loads the packed modules
	//        $ qemu-system-x86_64 -nodefaults -display none -no-reboot -machine q35 -accel tcg -cpu max -smp 2 -m 2048M,slots=2,maxmem=2112M -chardev file,id=con0,path=/runs/demo/20261124-101500/logs/ext4.device-pmem__empty__r1/console.log -serial chardev:con0 -kernel /boot/vmlinuz -initrd /runs/demo/20261124-101500/work/ext4.device-pmem__empty__r1/initrd.cpio -append 'console=ttyS0 panic=-1 quiet no_timer_check' -device virtio-serial-pci -chardev socket,id=chr0,path=/tmp/vmfsbench.XXXXXX/025d6723/ctl.sock -device virtserialport,chardev=chr0,name=ctl -object memory-backend-file,id=pm0,share=off,mem-path=/runs/demo/20261124-101500/work/ext4.device-pmem__empty__r1/tree.ext4,size=67108864 -device virtio-pmem-pci,memdev=pm0
	//   5. mount         present the tree at /root/llvm-project
	//        guest# mount -t ext4 -o dax=always /dev/pmem0 /root/llvm-project
	//   6. workload      run the workload (timeout 30m0s)
	//        guest# vmfsbench-agent read-all /root/llvm-project
	//   7. teardown      guest powers off; stop helpers; remove the cell's images and sockets
}
