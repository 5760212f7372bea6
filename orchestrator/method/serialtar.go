package method

import (
	"context"
	"fmt"

	"github.com/vmfsbench/vmfsbench/internal/protocol"
	"github.com/vmfsbench/vmfsbench/orchestrator/param"
	"github.com/vmfsbench/vmfsbench/orchestrator/tree"
)

// SerialTar streams the same tar as SSHTar over a virtio-serial port: no network, no cipher.
type SerialTar struct{}

func init() { register(SerialTar{}) }

// Name implements Method.
func (SerialTar) Name() string { return "serial-tar" }

// Params implements Method.
func (SerialTar) Params() []param.Def { return []param.Def{targetParam} }

// Tools implements Method: the stream is vmfsbench's own.
func (SerialTar) Tools(p Params) []Tool { return scratchTools(p) }

// Carries implements Method.
func (m SerialTar) Carries(f tree.Finding) (bool, string) { return streamCarries(m.Name(), f) }

// Plan implements Method. QEMU listens on the data port's socket and the transfer connects
// after boot: the host needs no listener of its own across steps, and the guest waits for
// the connection whichever of the two comes first (receive-tar). The transfer streams the
// tree and ends when QEMU has taken the last byte from the socket (it takes them only as
// fast as the guest reads); the guest's receive step ends in the mount phase. The control
// port's virtio_console is always loaded.
func (SerialTar) Plan(c Config) (Setup, error) {
	data := sock(c, "data.sock")
	transfer := Step{Kind: StepTransfer, Desc: fmt.Sprintf(
		"stream the filtered tree as tar (owner %s) into virtio-serial port %q (QEMU listens on %s)", ownerText(c), dataPort, data),
		Run: func(ctx context.Context, env Env) (func(), error) {
			st, err := sendSerial(ctx, data, treeSource(c, env.Matcher))
			st.log(env.Log, "serial-tar")
			return nil, err
		}}
	return Setup{
		Modules: tarModules(c),
		Refused: tmpfsRefusal(c),
		Steps:   append(scratchSteps(c), transfer),
		Devices: append([]Device{SerialPort{Name: dataPort, Socket: data, Server: true}}, scratchDevices(c)...),
		Guest:   append(tarTarget(c), protocol.Step{Kind: protocol.StepReceiveTar, Name: "receive", Port: dataPort, Target: c.Mountpoint}),
	}, nil
}
