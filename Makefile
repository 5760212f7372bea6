# vmfsbench: `make demo` runs the demo spec, `make test` runs every test. Both install what
# they need first (Debian packages, Go modules, the guest kernel) and skip what is there.

GO       ?= go
BIN      := bin/vmfsbench
PKGS     := ./...
# command:package pairs of the host tools vmfsbench and its tests use (Debian 12 names).
TOOLS    := qemu-system-x86_64:qemu-system-x86 /usr/lib/qemu/virtiofsd:qemu-system-common \
            mksquashfs:squashfs-tools mkfs.erofs:erofs-utils mkfs.ext4:e2fsprogs \
            busybox:busybox-static modprobe:kmod git:git dpkg-deb:dpkg xz:xz-utils zstd:zstd \
            debootstrap:debootstrap \
            qemu-system-aarch64:qemu-system-arm qemu-system-riscv64:qemu-system-misc

.PHONY: all build agents deps tools kernel hosttools test test-faults test-short test-debian13 vet demo study bench clean

all: build

# build cross-builds the guest agent (a static Linux /init) for every guest architecture into
# $(AGENTS), then builds vmfsbench with them embedded: the binary runs from anywhere, without
# the checkout or Go. The agents' flags are agentBuildFlags of orchestrator/initramfs/agent.go.
AGENTS      := orchestrator/initramfs/agents
AGENT_ARCHS := amd64 arm64 riscv64

build: agents
	$(GO) build -trimpath -tags embedagents -o $(BIN) ./orchestrator/cmd/vmfsbench

agents:
	@for a in $(AGENT_ARCHS); do \
	  CGO_ENABLED=0 GOOS=linux GOARCH=$$a GOWORK=off $(GO) build -trimpath -ldflags='-s -w -buildid=' \
	    -o $(AGENTS)/agent-$$a ./guestinit/agent || exit 1; done

# tools installs missing host tools with apt-get (through sudo when not root); elsewhere it
# names the packages to install and stops.
tools:
	@missing=""; for pair in $(TOOLS); do cmd=$${pair%%:*}; pkg=$${pair##*:}; \
	  if ! command -v $$cmd >/dev/null 2>&1 && [ ! -x $$cmd ] && [ ! -x /usr/sbin/$$cmd ] && [ ! -x /sbin/$$cmd ]; then \
	    missing="$$missing $$pkg"; fi; done; \
	if [ -n "$$missing" ]; then \
	  if ! command -v apt-get >/dev/null 2>&1; then \
	    echo "vmfsbench needs these tools; install the packages named (Debian names) with your package manager:$$missing" >&2; exit 2; fi; \
	  sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	  echo "installing:$$missing"; \
	  $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $$missing; \
	fi

deps: tools
	$(GO) mod download

kernel: deps build
	$(BIN) kernel fetch --arch x86_64
	$(BIN) kernel fetch --arch aarch64
	$(BIN) kernel fetch --arch riscv64

# hosttools fetches into the user cache what Debian 12 lacks (vmfsbench tool fetch): Debian 13's
# Rust virtiofsd with its own C library and loader (a tree over the C daemon's open-file limit
# needs it), and bookworm-backports' e2fsprogs that reads tar with libarchive (nothing when the
# host's reads tar). Nothing is installed on the host.
hosttools: build
	$(BIN) tool fetch virtiofsd e2fsprogs

vet:
	$(GO) vet $(PKGS)
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

test: kernel hosttools vet
	$(GO) test -timeout 40m $(PKGS)

# test-faults runs the fault catalogue (README's table: faults_test.go, oddtree_test.go,
# survey_test.go, the guest faults of guest_test.go and virtiofs_test.go, the tree fingerprint,
# the refusals of validate and plan, the cells' secrets and temporary directories, a workload
# that leaves processes, the Slurm path's refusals, the spec's bounds) with its long case too:
# the whole demo matrix with the host tree hashed before and after (about two minutes more
# under TCG). The Slurm cases need a cluster (.ci/slurm start, as root). `make test` runs all
# of the catalogue but that case.
test-faults: kernel
	VMFSBENCH_FAULTS_LONG=1 $(GO) test -timeout 25m -run 'Fault|VirtiofsdDying|Signal|ToolMissing|OnlyMatchesNothing|FailFast|TwoRuns|OddTree|Sparse|Survey|Demo|Fingerprint|ValidateRefuses|ExclusionsLeaveNothing|BadSpecs|CellSecretsPrivate|StaleNamedDirAfterKill|EveryTempDirKnown|ExecLeavesProcesses|StreamIntoTmpfsTooSmall|SlurmOneSubmission|SlurmPartitionTimeLimit|SlurmRefuses|ShardRefused|ReportNotWritten|JobCheck|NeverStarts|Partitions|ParseDuration|HungBoot|ConsoleWatch' \
	  ./orchestrator/run ./orchestrator/cmd/vmfsbench ./orchestrator/tree ./orchestrator/spec ./orchestrator/tmpdir \
	  ./orchestrator/method ./guestinit/agent ./orchestrator/slurm

# test-debian13 runs the guest suite with Debian 13's stack (QEMU 10, the Rust virtiofsd 1.13,
# e2fsprogs 1.47.2 reading tar through libarchive, squashfs-tools 4.6, erofs-utils 1.8): the
# test binaries are built here and run chrooted in a trixie root that .ci/debian13 makes once
# with debootstrap in the user cache. As root.
# The foreign-arch boots and the LLVM/lit runs in a guest rootfs do not depend on the host's
# stack: the lane leaves them to the first. So do the odd-tree cases through ext4: in the
# lane's chroot the build cannot id-map its view, debugfs must set the owners, and debugfs
# cannot name the odd tree's newline names (the survey's documented limit). DAX on
# virtio-pmem then runs with QEMU 10 on every other tree.
test-debian13: kernel
	.ci/debian13 -test.skip 'TestForeignArchEveryMethod|TestRealLLVMLitInGuest|TestLitInRootfs|TestOddTreeEveryMethod|TestPmemEveryTree'
	LANE_PKGS=./orchestrator/run .ci/debian13 -test.run 'TestPmemEveryTree/(synthetic|sparse)$$'

# test-short runs the tests that need no guest.
test-short: build
	$(GO) test -short $(PKGS)

# demo runs every method on a small generated tree, with the host cache emptied and warmed
# (dropping the page cache needs root), and has the guest verify owners and writability.
demo: kernel
	$(BIN) run --verify specs/demo.yaml

# study runs the seed study in miniature, from nothing, in the three commands the README
# shows: a real riscv64 LLVM 19 tree, a Debian 13 riscv64 guest root (its second stage runs in
# an emulated guest: about 20 minutes here), then specs/replica-llvm-riscv64.yaml. As root.
# On Debian 12 the virtiofs cells take the fetched Rust virtiofsd and the ext4 cells the fetched
# e2fsprogs' tar route (make hosttools).
study: kernel hosttools
	$(BIN) tree llvm --version 19 --arch riscv64
	$(BIN) rootfs build --arch riscv64
	$(BIN) run specs/replica-llvm-riscv64.yaml

# bench runs every Go benchmark once, then vmfsbench-bench: each figure of BENCHMARKS.md next
# to its reference (the raw tool by hand) on the 20,000-file synthetic tree, with the ratio,
# the goal and whether it is met. About 6 minutes on 2 cores under TCG; as root (the ext4
# build's id-mapped view, as in `vmfsbench run`); ~1 GiB of /dev/shm for a minute.
bench: kernel
	$(GO) test -run '^$$' -bench . -benchtime 1x $(PKGS)
	$(GO) run ./orchestrator/cmd/vmfsbench-bench -vmfsbench $(BIN)

clean:
	rm -rf bin
