package method_test

import (
	"os"

	"github.com/vmfsbench/vmfsbench/orchestrator/method"
	"github.com/vmfsbench/vmfsbench/orchestrator/plan"
)

// The plan of a one-cell erofs spec at its defaults: the method's golden.
func ExampleErofs_plan() {
	plan.WriteOneCell(os.Stdout, method.Erofs{}.Name(), "")
	// Output:
	// plan one-cell (one-cell.yaml): 1 cells, 1 repetition, order interleaved
	// guest x86_64, 2 cpus, 2GiB memory, accel auto, mountpoint /root/llvm-project
	// exclude .git build/* !build/stage2cross
	// owner 1001:1001
	// workload builtin read-all, timeout 30m0s
	//
	// cell 1/1 erofs/empty/r1
	//   params   (the defaults)
	//   modules  virtio_pci virtio_console virtio_blk crc32c_generic erofs overlay
	//   1. prepare-cache drop the host page cache (sync; echo 3 > /proc/sys/vm/drop_caches, checked in /proc/meminfo)
	//   2. build-image   build the EROFS image
	//        $ mkfs.erofs --quiet --preserve-mtime --force-uid=1001 --force-gid=1001 --exclude-path=.git /runs/demo/20261124-101500/work/erofs__empty__r1/tree.erofs /src/tree
	//   3. initramfs     write the initramfs /runs/demo/20261124-101500/work/erofs__empty__r1/initrd.cpio: the cached base archive (the agent, the packed modules) and the cell's job
	//   4. boot          boot the guest; the agent loads the packed modules
	//        $ qemu-system-x86_64 -nodefaults -display none -no-reboot -machine q35 -accel tcg -cpu max -smp 2 -m 2048M -chardev file,id=con0,path=/runs/demo/20261124-101500/logs/erofs__empty__r1/console.log -serial chardev:con0 -kernel /boot/vmlinuz -initrd /runs/demo/20261124-101500/work/erofs__empty__r1/initrd.cpio -append 'console=ttyS0 panic=-1 quiet no_timer_check' -device virtio-serial-pci -chardev socket,id=chr0,path=/tmp/vmfsbench.XXXXXX/732d2a45/ctl.sock -device virtserialport,chardev=chr0,name=ctl -drive file=/runs/demo/20261124-101500/work/erofs__empty__r1/tree.erofs,if=none,id=drive0,format=raw,readonly=on -device virtio-blk-pci,drive=drive0
	//   5. mount         present the tree at /root/llvm-project
	//        guest# mount -t erofs -o ro /dev/vda /vmfsbench/lower
	//        guest# mount -t overlay -o lowerdir=/vmfsbench/lower,upperdir=<tmpfs>/upper,workdir=<tmpfs>/work overlay /root/llvm-project
	//   6. workload      run the workload (timeout 30m0s)
	//        guest# vmfsbench-agent read-all /root/llvm-project
	//   7. teardown      guest powers off; stop helpers; remove the cell's images and sockets
}

// The plan of a one-cell erofs spec with device: pmem: the device's golden.
func ExampleErofs_planPmem() {
	plan.WriteOneCell(os.Stdout, method.Erofs{}.Name(), "device: pmem")
	// Output:
	// plan one-cell (one-cell.yaml): 1 cells, 1 repetition, order interleaved
	// guest x86_64, 2 cpus, 2GiB memory, accel auto, mountpoint /root/llvm-project
	// exclude .git build/* !build/stage2cross
	// owner 1001:1001
	// workload builtin read-all, timeout 30m0s
	//
	// cell 1/1 erofs.device=pmem/empty/r1
	//   params   device=pmem
	//   modules  virtio_pci virtio_console libnvdimm nd_btt nd_pmem nd_virtio virtio_pmem crc32c_generic erofs overlay
	//   1. prepare-cache drop the host page cache (sync; echo 3 > /proc/sys/vm/drop_caches, checked in /proc/meminfo)
	//   2. build-image   build the EROFS image (no compression, no inlined tails, for DAX), then pad it with zeros to the 2097152 bytes of its pmem device
	//        $ mkfs.erofs --quiet --preserve-mtime -Enoinline_data --force-uid=1001 --force-gid=1001 --exclude-path=.git /runs/demo/20261124-101500/work/erofs.device-pmem__empty__r1/tree.erofs /src/tree
	//        $ truncate --size=2097152 /runs/demo/20261124-101500/work/erofs.device-pmem__empty__r1/tree.erofs
	//   3. initramfs     write the initramfs /runs/demo/20261124-101500/work/erofs.device-pmem__empty__r1/initrd.cpio: the cached base archive (the agent, the packed modules) and the cell's job
	//   4. boot          boot the guest; the agent loads the packed modules
	//        $ qemu-system-x86_64 -nodefaults -display none -no-reboot -machine q35 -accel tcg -cpu max -smp 2 -m 2048M,slots=2,maxmem=2050M -chardev file,id=con0,path=/runs/demo/20261124-101500/logs/erofs.device-pmem__empty__r1/console.log -serial chardev:con0 -kernel /boot/vmlinuz -initrd /runs/demo/20261124-101500/work/erofs.device-pmem__empty__r1/initrd.cpio -append 'console=ttyS0 panic=-1 quiet no_timer_check' -device virtio-serial-pci -chardev socket,id=chr0,path=/tmp/vmfsbench.XXXXXX/b4e672c8/ctl.sock -device virtserialport,chardev=chr0,name=ctl -object memory-backend-file,id=pm0,share=on,mem-path=/runs/demo/20261124-101500/work/erofs.device-pmem__empty__r1/tree.erofs,size=2097152,readonly=on -device virtio-pmem-pci,memdev=pm0
	//   5. mount         present the tree at /root/llvm-project
	//        guest# mount -t erofs -o ro,dax=always /dev/pmem0 /vmfsbench/lower
	//        guest# mount -t overlay -o lowerdir=/vmfsbench/lower,upperdir=<tmpfs>/upper,workdir=<tmpfs>/work overlay /root/llvm-project
	//   6. workload      run the workload (timeout 30m0s)
	//        guest# vmfsbench-agent read-all /root/llvm-project
	//   7. teardown      guest powers off; stop helpers; remove the cell's images and sockets
}
