// smux_peer_go: the Go side of weft's smux interop test, built against
// Debian's xtaci/smux in GOPATH mode.
//
//	smux_peer_go -mode server -version 2                 (prints "listening ADDR")
//	smux_peer_go -mode client -addr ADDR -version 2 -case all
//
// Server conventions (weft's test peer follows the same ones): every
// stream is echoed until FIN; a stream whose first bytes are "HOLD" is
// never read; "PUSH" makes the server open 4 streams of 64 KiB to the
// client. Each client case prints "ok <case>" or exits 1.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/xtaci/smux"
)

var (
	mode      = flag.String("mode", "server", "server|client")
	addr      = flag.String("addr", "127.0.0.1:0", "listen or connect address")
	version   = flag.Int("version", 1, "smux protocol version")
	testCase  = flag.String("case", "all", "client case, or all")
	keepalive = flag.Int("keepalive", 0, "keepalive interval in ms (timeout 4x); 0 = smux default")
	peer      = flag.String("peer", "weft", "what the server is (bad-input expectations differ): weft|go")
)

const pushStreams = 4
const pushBytes = 64 * 1024

func pattern(off int) byte { return byte(off*7 + off/251) }

func fill(n, start int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = pattern(start + i)
	}
	return b
}

func config() *smux.Config {
	c := smux.DefaultConfig()
	c.Version = *version
	if *keepalive > 0 {
		c.KeepAliveInterval = time.Duration(*keepalive) * time.Millisecond
		c.KeepAliveTimeout = 4 * c.KeepAliveInterval
	}
	return c
}

func die(format string, a ...interface{}) {
	fmt.Printf("FAIL "+format+"\n", a...)
	os.Exit(1)
}

// --- server ----------------------------------------------------------------

func serve() {
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		die("listen: %v", err)
	}
	fmt.Printf("listening %s\n", ln.Addr())
	for {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			sess, err := smux.Server(conn, config())
			if err != nil {
				die("server: %v", err)
			}
			for {
				st, err := sess.AcceptStream()
				if err != nil {
					if err != io.EOF && !errors.Is(err, io.ErrClosedPipe) {
						fmt.Printf("session error: %v\n", err)
					}
					sess.Close()
					return
				}
				go handle(sess, st)
			}
		}()
	}
}

func handle(sess *smux.Session, st *smux.Stream) {
	defer st.Close()
	buf := make([]byte, 4)
	n, err := io.ReadFull(st, buf)
	if err != nil {
		st.Write(buf[:n])
		return
	}
	switch string(buf) {
	case "HOLD":
		<-st.GetDieCh() // never read again
		return
	case "PUSH":
		go push(sess)
	}
	if _, err := st.Write(buf); err != nil {
		return
	}
	io.Copy(st, st)
}

func push(sess *smux.Session) {
	for i := 0; i < pushStreams; i++ {
		st, err := sess.OpenStream()
		if err != nil {
			return
		}
		st.Write(fill(pushBytes, i))
		st.Close()
	}
}

// --- client ----------------------------------------------------------------

func dial() *smux.Session {
	conn, err := net.DialTimeout("tcp", *addr, 5*time.Second)
	if err != nil {
		die("dial: %v", err)
	}
	sess, err := smux.Client(conn, config())
	if err != nil {
		die("client: %v", err)
	}
	return sess
}

// echo writes data on st (concurrently) and reads it back.
func echo(st *smux.Stream, data []byte) error {
	errc := make(chan error, 1)
	go func() {
		_, err := st.Write(data)
		errc <- err
	}()
	st.SetReadDeadline(time.Now().Add(20 * time.Second))
	got := make([]byte, len(data))
	if _, err := io.ReadFull(st, got); err != nil {
		return fmt.Errorf("read: %v", err)
	}
	if err := <-errc; err != nil {
		return fmt.Errorf("write: %v", err)
	}
	if !bytes.Equal(got, data) {
		return errors.New("echo differs")
	}
	return nil
}

func openEcho(sess *smux.Session, data []byte) error {
	st, err := sess.OpenStream()
	if err != nil {
		return fmt.Errorf("open: %v", err)
	}
	defer st.Close()
	if st.ID()%2 != 1 {
		return fmt.Errorf("client stream id %d is not odd", st.ID())
	}
	return echo(st, data)
}

func caseSmall() error {
	sess := dial()
	defer sess.Close()
	for i := 0; i < 10; i++ {
		if err := openEcho(sess, []byte(fmt.Sprintf("hello %d", i))); err != nil {
			return err
		}
	}
	return nil
}

func caseBig() error {
	sess := dial()
	defer sess.Close()
	return openEcho(sess, fill(1<<20, 0))
}

func caseSeq() error {
	sess := dial()
	defer sess.Close()
	for i := 0; i < 1000; i++ {
		if err := openEcho(sess, fill(100, i)); err != nil {
			return fmt.Errorf("stream %d: %v", i, err)
		}
	}
	return nil
}

func caseConcurrent() error {
	sess := dial()
	defer sess.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 256)
	for i := 0; i < 256; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if err := openEcho(sess, fill(64*1024, i)); err != nil {
				errs <- fmt.Errorf("stream %d: %v", i, err)
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	return <-errs
}

func caseZero() error {
	sess := dial()
	defer sess.Close()
	st, err := sess.OpenStream()
	if err != nil {
		return err
	}
	defer st.Close()
	for _, w := range []string{"", "", "abc", "", "de"} {
		if n, err := st.Write([]byte(w)); err != nil || n != len(w) {
			return fmt.Errorf("write %q: %d %v", w, n, err)
		}
	}
	got := make([]byte, 5)
	st.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(st, got); err != nil || string(got) != "abcde" {
		return fmt.Errorf("read %q: %v", got, err)
	}
	return nil
}

// Idle for several keepalive timeouts: both sides' NOPs keep it alive.
func caseKeepalive() error {
	if *keepalive == 0 {
		return errors.New("needs -keepalive")
	}
	sess := dial()
	defer sess.Close()
	st, err := sess.OpenStream()
	if err != nil {
		return err
	}
	defer st.Close()
	if err := echo(st, []byte("before")); err != nil {
		return err
	}
	time.Sleep(time.Duration(*keepalive*12) * time.Millisecond)
	if sess.IsClosed() {
		return errors.New("session closed while idle")
	}
	if err := echo(st, []byte("after")); err != nil {
		return fmt.Errorf("after idle: %v", err)
	}
	return openEcho(sess, []byte("new stream"))
}

// v2: one stream writes 8 MiB that the server never reads; the window stops
// it while another stream keeps echoing.
func caseHold() error {
	sess := dial()
	defer sess.Close()
	held, err := sess.OpenStream()
	if err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() {
		_, err := held.Write(append([]byte("HOLD"), fill(8<<20, 0)...))
		done <- err
	}()
	time.Sleep(200 * time.Millisecond)
	for i := 0; i < 20; i++ {
		start := time.Now()
		if err := openEcho(sess, fill(1024, i)); err != nil {
			return fmt.Errorf("other stream %d: %v", i, err)
		}
		if d := time.Since(start); d > 2*time.Second {
			return fmt.Errorf("other stream %d took %v", i, d)
		}
	}
	select {
	case err := <-done:
		return fmt.Errorf("8 MiB write finished although nobody reads (%v)", err)
	default:
	}
	return nil
}

// Server-initiated streams: even ids, 64 KiB each, then FIN.
func casePush() error {
	sess := dial()
	defer sess.Close()
	ctl, err := sess.OpenStream()
	if err != nil {
		return err
	}
	defer ctl.Close()
	if err := echo(ctl, []byte("PUSH")); err != nil {
		return err
	}
	sess.SetDeadline(time.Now().Add(10 * time.Second))
	for i := 0; i < pushStreams; i++ {
		st, err := sess.AcceptStream()
		if err != nil {
			return fmt.Errorf("accept: %v", err)
		}
		if st.ID()%2 != 0 {
			return fmt.Errorf("server stream id %d is not even", st.ID())
		}
		st.SetReadDeadline(time.Now().Add(10 * time.Second))
		got, err := io.ReadAll(st)
		if err != nil {
			return fmt.Errorf("read pushed stream: %v", err)
		}
		idx := -1
		for j := 0; j < pushStreams; j++ {
			if bytes.Equal(got, fill(pushBytes, j)) {
				idx = j
			}
		}
		if idx < 0 {
			return fmt.Errorf("pushed stream %d: %d bytes, content differs", st.ID(), len(got))
		}
		st.Close()
	}
	return nil
}

// Bad input on a raw connection: the server must end the session (close the
// connection). Where Go smux itself tolerates the input, -peer go expects
// the connection to stay open instead.
func caseBad() error {
	v := byte(*version)
	hdr := func(ver, cmd byte, length uint16, sid uint32) []byte {
		return []byte{ver, cmd, byte(length), byte(length >> 8), byte(sid), byte(sid >> 8), byte(sid >> 16), byte(sid >> 24)}
	}
	type bad struct {
		name  string
		input []byte
		goOK  bool // Go smux 1.5.16 keeps the session
	}
	cases := []bad{
		{"wrong version", hdr(v+1, 3, 0, 0), false},
		{"unknown command", hdr(v, 9, 0, 0), false},
		{"SYN with payload", append(hdr(v, 0, 8, 1), []byte("namename")...), false},
		{"NOP with payload", append(hdr(v, 3, 8, 0), hdr(v+1, 3, 0, 0)...), false},
	}
	if v == 1 {
		cases = append(cases, bad{"UPD on v1", append(append(hdr(v, 0, 0, 1), hdr(v, 4, 8, 1)...), make([]byte, 8)...), true})
	} else {
		upd := append(hdr(v, 0, 0, 1), hdr(v, 4, 8, 1)...)
		upd = append(upd, 1, 0, 0, 0, 0, 0, 4, 0) // consumed 1 of 0 sent
		cases = append(cases, bad{"window goes negative", upd, true})
	}
	for _, c := range cases {
		conn, err := net.DialTimeout("tcp", *addr, 5*time.Second)
		if err != nil {
			return err
		}
		conn.Write(c.input)
		conn.SetReadDeadline(time.Now().Add(1500 * time.Millisecond))
		_, err = conn.Read(make([]byte, 64))
		conn.Close()
		closed := err != nil && !isTimeout(err)
		wantClosed := !(c.goOK && *peer == "go")
		if closed != wantClosed {
			return fmt.Errorf("%s: connection closed=%v, want %v (%v)", c.name, closed, wantClosed, err)
		}
		fmt.Printf("bad input %q: closed=%v\n", c.name, closed)
	}
	// PSH for a stream that does not exist is ignored; the session goes on.
	conn, err := net.DialTimeout("tcp", *addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	in := append(hdr(v, 2, 3, 77), []byte("xyz")...)
	in = append(in, hdr(v, 0, 0, 3)...)
	in = append(in, hdr(v, 2, 4, 3)...)
	in = append(in, []byte("okay")...)
	conn.Write(in)
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	reply := make([]byte, 0, 64)
	buf := make([]byte, 64)
	for !bytes.Contains(reply, []byte("okay")) {
		n, err := conn.Read(buf)
		if err != nil {
			return fmt.Errorf("after PSH to an unknown stream: %v", err)
		}
		reply = append(reply, buf[:n]...)
	}
	return nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func main() {
	flag.Parse()
	if *mode == "server" {
		serve()
		return
	}
	cases := map[string]func() error{
		"small": caseSmall, "big": caseBig, "seq": caseSeq, "concurrent": caseConcurrent,
		"zero": caseZero, "keepalive": caseKeepalive, "hold": caseHold, "push": casePush, "bad": caseBad,
	}
	order := []string{"small", "big", "seq", "concurrent", "zero", "push", "keepalive", "bad"}
	if *version >= 2 {
		order = append(order, "hold")
	}
	if *testCase != "all" {
		order = strings.Split(*testCase, ",")
	}
	for _, name := range order {
		fn, ok := cases[name]
		if !ok {
			die("unknown case %s", name)
		}
		start := time.Now()
		if err := fn(); err != nil {
			die("%s: %v", name, err)
		}
		fmt.Printf("ok %s (%v)\n", name, time.Since(start).Round(time.Millisecond))
	}
}
