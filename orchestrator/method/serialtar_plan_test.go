package method_test

import (
	"os"

	"github.com/vmfsbench/vmfsbench/orchestrator/method"
	"github.com/vmfsbench/vmfsbench/orchestrator/plan"
)

// The plan of a one-cell serial-tar spec at its defaults: the method's golden.
func ExampleSerialTar_plan() {
	plan.WriteOneCell(os.Stdout, method.SerialTar{}.Name(), "")
	// Output:
	// plan one-cell (one-cell.yaml): 1 cells, 1 repetition, order interleaved
	// guest x86_64, 2 cpus, 2GiB memory, accel auto, mountpoint /root/llvm-project
	// exclude .git build/* !build/stage2cross
	// owner 1001:1001
	// workload builtin read-all, timeout 30m0s
	//
	// cell 1/1 serial-tar/empty/r1
	//   params   (the defaults)
	//   modules  virtio_pci virtio_console
	//   1. prepare-cache drop the host page cache (sync; echo 3 > /proc/sys/vm/drop_caches, checked in /proc/meminfo)
	//   2. initramfs     write the initramfs /runs/demo/20261124-101500/work/serial-tar__empty__r1/initrd.cpio: the cached base archive (the agent, the packed modules) and the cell's job
	//   3. boot          boot the guest; the agent loads the packed modules
	//        $ qemu-system-x86_64 -nodefaults -display none -no-reboot -machine q35 -accel tcg -cpu max -smp 2 -m 2048M -chardev file,id=con0,path=/runs/demo/20261124-101500/logs/serial-tar__empty__r1/console.log -serial chardev:con0 -kernel /boot/vmlinuz -initrd /runs/demo/20261124-101500/work/serial-tar__empty__r1/initrd.cpio -append 'console=ttyS0 panic=-1 quiet no_timer_check' -device virtio-serial-pci -chardev socket,id=chr0,path=/tmp/vmfsbench.XXXXXX/61b37c49/ctl.sock -device virtserialport,chardev=chr0,name=ctl -chardev socket,id=chr1,path=/tmp/vmfsbench.XXXXXX/61b37c49/data.sock,server=on,wait=off -device virtserialport,chardev=chr1,name=data
	//   4. transfer      stream the filtered tree as tar (owner 1001:1001) into virtio-serial port "data" (QEMU listens on /tmp/vmfsbench.XXXXXX/61b37c49/data.sock)
	//   5. mount         present the tree at /root/llvm-project
	//        guest# mount -t tmpfs tmpfs /root/llvm-project
	//        guest# tar -x -C /root/llvm-project < /dev/virtio-ports/data
	//   6. workload      run the workload (timeout 30m0s)
	//        guest# vmfsbench-agent read-all /root/llvm-project
	//   7. teardown      guest powers off; stop helpers; remove the cell's images and sockets
}
