package stream

import (
	"context"
	"errors"
	"net"
	"syscall"
	"time"
	"unsafe"
)

// waitAcked waits until the peer has acknowledged every byte written to
// conn: the socket's send queue (SIOCOUTQ: bytes not yet acknowledged) is
// empty. Until then a crash of this process could lose them.
func waitAcked(ctx context.Context, conn net.Conn, closed <-chan struct{}, timeout time.Duration) error {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return nil
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	deadline := time.Now().Add(timeout)
	for pause := 50 * time.Microsecond; ; pause = min(2*pause, 10*time.Millisecond) {
		var queued int32
		var ioErr syscall.Errno
		if err := raw.Control(func(fd uintptr) {
			_, _, ioErr = syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCOUTQ, uintptr(unsafe.Pointer(&queued)))
		}); err != nil {
			return err
		}
		if ioErr != 0 {
			return ioErr
		}
		if queued == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return errors.New("the receiver did not acknowledge the messages in time")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-closed:
			return errors.New("the receiver closed the connection before acknowledging the messages")
		case <-time.After(pause):
		}
	}
}
