package main

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"os"
	"syscall"
	"time"

	"github.com/vmfsbench/vmfsbench/internal/protocol"
	"golang.org/x/sys/unix"
)

// The QEMU user-mode (slirp) network's defaults.
const (
	defaultInterface = "eth0"
	defaultAddress   = "10.0.2.15/24"
	defaultGateway   = "10.0.2.2"
)

func netDefaults(s protocol.Step) (ifc, addr, gw string) {
	ifc, addr, gw = s.Interface, s.Address, s.Gateway
	if ifc == "" {
		ifc = defaultInterface
	}
	if addr == "" {
		addr = defaultAddress
	}
	if gw == "" {
		gw = defaultGateway
	}
	return ifc, addr, gw
}

// netUp brings up lo and the interface with an IPv4 address and a default route, with the
// ioctls ifconfig uses and one rtnetlink message for the route.
func netUp(s protocol.Step) error {
	ifc, addr, gw := netDefaults(s)
	prefix, err := netip.ParsePrefix(addr)
	if err != nil || !prefix.Addr().Is4() {
		return fmt.Errorf("address %q: want an IPv4 address/prefix", addr)
	}
	// The driver registers the interface asynchronously after its module loads.
	deadline := time.Now().Add(portWait)
	for {
		if _, err := os.Stat("/sys/class/net/" + ifc); err == nil {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("interface %s did not appear in /sys/class/net within %v", ifc, portWait)
		}
		time.Sleep(10 * time.Millisecond)
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("socket: %w", err)
	}
	defer unix.Close(fd)
	if err := linkUp(fd, "lo"); err != nil {
		return err
	}
	ip := prefix.Addr().As4()
	mask := net.CIDRMask(prefix.Bits(), 32)
	for _, set := range []struct {
		req  uint
		v    []byte
		what string
	}{{unix.SIOCSIFADDR, ip[:], "address"}, {unix.SIOCSIFNETMASK, mask, "netmask"}} {
		ifr, err := unix.NewIfreq(ifc)
		if err != nil {
			return err
		}
		if err := ifr.SetInet4Addr(set.v); err != nil {
			return err
		}
		if err := unix.IoctlIfreq(fd, set.req, ifr); err != nil {
			return fmt.Errorf("setting %s of %s: %w", set.what, ifc, err)
		}
	}
	if err := linkUp(fd, ifc); err != nil {
		return err
	}
	if gw == "none" {
		return nil
	}
	gwAddr, err := netip.ParseAddr(gw)
	if err != nil || !gwAddr.Is4() {
		return fmt.Errorf("gateway %q: want an IPv4 address", gw)
	}
	iface, err := net.InterfaceByName(ifc)
	if err != nil {
		return err
	}
	if err := addDefaultRoute(gwAddr.As4(), iface.Index); err != nil {
		return fmt.Errorf("default route via %s dev %s: %w", gw, ifc, err)
	}
	return nil
}

func linkUp(fd int, ifc string) error {
	ifr, err := unix.NewIfreq(ifc)
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("flags of %s: %w", ifc, err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("bringing up %s: %w", ifc, err)
	}
	return nil
}

// addDefaultRoute sends RTM_NEWROUTE for 0.0.0.0/0 via gw on the interface and waits for
// the kernel's acknowledgement.
func addDefaultRoute(gw [4]byte, ifindex int) error {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ne := binary.NativeEndian
	attr := func(typ uint16, v []byte) []byte {
		b := make([]byte, unix.SizeofRtAttr, unix.SizeofRtAttr+len(v))
		ne.PutUint16(b[0:], uint16(unix.SizeofRtAttr+len(v)))
		ne.PutUint16(b[2:], typ)
		return append(b, v...) // 4-byte values need no padding
	}
	oif := make([]byte, 4)
	ne.PutUint32(oif, uint32(ifindex))
	rt := []byte{unix.AF_INET, 0, 0, 0, unix.RT_TABLE_MAIN, unix.RTPROT_BOOT, unix.RT_SCOPE_UNIVERSE, unix.RTN_UNICAST, 0, 0, 0, 0}
	body := append(rt, attr(unix.RTA_GATEWAY, gw[:])...)
	body = append(body, attr(unix.RTA_OIF, oif)...)
	msg := make([]byte, unix.NLMSG_HDRLEN, unix.NLMSG_HDRLEN+len(body))
	ne.PutUint32(msg[0:], uint32(unix.NLMSG_HDRLEN+len(body)))
	ne.PutUint16(msg[4:], unix.RTM_NEWROUTE)
	ne.PutUint16(msg[6:], unix.NLM_F_REQUEST|unix.NLM_F_ACK|unix.NLM_F_CREATE|unix.NLM_F_EXCL)
	ne.PutUint32(msg[8:], 1) // sequence number
	msg = append(msg, body...)
	if err := unix.Sendto(fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return err
	}
	buf := make([]byte, 4096)
	n, _, err := unix.Recvfrom(fd, buf, 0)
	if err != nil {
		return err
	}
	msgs, err := syscall.ParseNetlinkMessage(buf[:n])
	if err != nil {
		return err
	}
	for _, m := range msgs {
		if m.Header.Type == syscall.NLMSG_ERROR && len(m.Data) >= 4 {
			if code := int32(ne.Uint32(m.Data)); code != 0 {
				return unix.Errno(-code)
			}
			return nil
		}
	}
	return fmt.Errorf("no acknowledgement from the kernel")
}
