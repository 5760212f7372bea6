package method_test

import (
	"os"

	"github.com/vmfsbench/vmfsbench/orchestrator/method"
	"github.com/vmfsbench/vmfsbench/orchestrator/plan"
)

// The plan of a one-cell 9p spec at its defaults: the method's golden.
func ExampleNineP_plan() {
	plan.WriteOneCell(os.Stdout, method.NineP{}.Name(), "")
	// Output:
	// plan one-cell (one-cell.yaml): 1 cells, 1 repetition, order interleaved
	// guest x86_64, 2 cpus, 2GiB memory, accel auto, mountpoint /root/llvm-project
	// exclude .git build/* !build/stage2cross
	// owner 1001:1001
	// workload builtin read-all, timeout 30m0s
	//
	// cell 1/1 9p/empty/r1
	//   params   (the defaults)
	//   modules  virtio_pci virtio_console 9pnet_virtio 9p overlay
	//   WARNING  9p cannot present tree.owner 1001:1001 (no id-mapped mounts): the guest sees the host's owners
	//   1. prepare-cache drop the host page cache (sync; echo 3 > /proc/sys/vm/drop_caches, checked in /proc/meminfo)
	//   2. initramfs     write the initramfs /runs/demo/20261124-101500/work/9p__empty__r1/initrd.cpio: the cached base archive (the agent, the packed modules) and the cell's job
	//   3. boot          boot the guest; the agent loads the packed modules
	//        $ qemu-system-x86_64 -nodefaults -display none -no-reboot -machine q35 -accel tcg -cpu max -smp 2 -m 2048M -chardev file,id=con0,path=/runs/demo/20261124-101500/logs/9p__empty__r1/console.log -serial chardev:con0 -kernel /boot/vmlinuz -initrd /runs/demo/20261124-101500/work/9p__empty__r1/initrd.cpio -append 'console=ttyS0 panic=-1 quiet no_timer_check' -device virtio-serial-pci -chardev socket,id=chr0,path=/tmp/vmfsbench.XXXXXX/ec2072e1/ctl.sock -device virtserialport,chardev=chr0,name=ctl -fsdev local,id=fs0,path=/src/tree,security_model=none,readonly=on -device virtio-9p-pci,fsdev=fs0,mount_tag=tree
	//   4. mount         present the tree at /root/llvm-project
	//        guest# mount -t 9p -o ro,trans=virtio,version=9p2000.L,msize=512000,cache=none tree /vmfsbench/lower
	//        guest# mknod <upper>/PATH c 0 0 for 1 excluded paths; mount -t overlay -o lowerdir=/vmfsbench/lower,upperdir=<tmpfs>/upper,workdir=<tmpfs>/work overlay /root/llvm-project
	//   5. workload      run the workload (timeout 30m0s)
	//        guest# vmfsbench-agent read-all /root/llvm-project
	//   6. teardown      guest powers off; stop helpers; remove the cell's images and sockets
}
