package method_test

import (
	"os"

	"github.com/vmfsbench/vmfsbench/orchestrator/method"
	"github.com/vmfsbench/vmfsbench/orchestrator/plan"
)

// The plan of a one-cell virtiofs spec at its defaults: the method's golden.
func ExampleVirtiofs_plan() {
	plan.WriteOneCell(os.Stdout, method.Virtiofs{}.Name(), "")
	// Output:
	// plan one-cell (one-cell.yaml): 1 cells, 1 repetition, order interleaved
	// guest x86_64, 2 cpus, 2GiB memory, accel auto, mountpoint /root/llvm-project
	// exclude .git build/* !build/stage2cross
	// owner 1001:1001
	// workload builtin read-all, timeout 30m0s
	//
	// cell 1/1 virtiofs/empty/r1
	//   params   (the defaults)
	//   modules  virtio_pci virtio_console virtiofs overlay
	//   WARNING  virtiofs cannot present tree.owner 1001:1001 (no id-mapped mounts): the guest sees the host's owners
	//   1. prepare-cache drop the host page cache (sync; echo 3 > /proc/sys/vm/drop_caches, checked in /proc/meminfo)
	//   2. start-daemon  start the C virtiofsd, wait for its socket
	//        $ /usr/lib/qemu/virtiofsd --socket-path=/tmp/vmfsbench.XXXXXX/480e1957/virtiofsd.sock -o source=/src/tree -o cache=auto -o sandbox=namespace --thread-pool-size=0 --rlimit-nofile=1048576
	//   3. initramfs     write the initramfs /runs/demo/20261124-101500/work/virtiofs__empty__r1/initrd.cpio: the cached base archive (the agent, the packed modules) and the cell's job
	//   4. boot          boot the guest; the agent loads the packed modules
	//        $ qemu-system-x86_64 -nodefaults -display none -no-reboot -machine q35 -accel tcg -cpu max -smp 2 -m 2048M -object memory-backend-memfd,id=mem0,size=2048M,share=on -numa node,memdev=mem0 -chardev file,id=con0,path=/runs/demo/20261124-101500/logs/virtiofs__empty__r1/console.log -serial chardev:con0 -kernel /boot/vmlinuz -initrd /runs/demo/20261124-101500/work/virtiofs__empty__r1/initrd.cpio -append 'console=ttyS0 panic=-1 quiet no_timer_check' -device virtio-serial-pci -chardev socket,id=chr0,path=/tmp/vmfsbench.XXXXXX/480e1957/ctl.sock -device virtserialport,chardev=chr0,name=ctl -chardev socket,id=chr1,path=/tmp/vmfsbench.XXXXXX/480e1957/virtiofsd.sock -device vhost-user-fs-pci,queue-size=1024,chardev=chr1,tag=tree
	//   5. mount         present the tree at /root/llvm-project
	//        guest# mount -t virtiofs -o ro tree /vmfsbench/lower
	//        guest# mknod <upper>/PATH c 0 0 for 1 excluded paths; mount -t overlay -o lowerdir=/vmfsbench/lower,upperdir=<tmpfs>/upper,workdir=<tmpfs>/work overlay /root/llvm-project
	//   6. workload      run the workload (timeout 30m0s)
	//        guest# vmfsbench-agent read-all /root/llvm-project
	//   7. teardown      guest powers off; stop helpers; remove the cell's images and sockets
}
