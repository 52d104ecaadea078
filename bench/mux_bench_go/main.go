// mux_bench_go: the Go side of bench/run_mux.sh, on Debian's xtaci/smux.
//
//	mux_bench_go -mode server -version 2                  echo server ("listening ADDR")
//	mux_bench_go -mode client -addr A -streams K -bytes B -write W
//	    K streams each echo B bytes in W-byte writes over one session; prints
//	    "bytes=N seconds=S MB/s=X cpu_s=C" (C: this process's user+system time)
//	mux_bench_go -mode idle -addr A -sessions M -streams K
//	    opens M sessions with K idle streams each, prints "ready", holds them
//	    until stdin closes.
package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/xtaci/smux"
)

var (
	mode     = flag.String("mode", "server", "server|client|idle")
	addr     = flag.String("addr", "127.0.0.1:0", "listen or connect address")
	version  = flag.Int("version", 1, "smux protocol version")
	streams  = flag.Int("streams", 1, "streams (per session)")
	sessions = flag.Int("sessions", 1, "sessions (idle mode)")
	total    = flag.Int("bytes", 64<<20, "bytes echoed per stream")
	wsize    = flag.Int("write", 64*1024, "bytes per write")
)

func config() *smux.Config {
	c := smux.DefaultConfig()
	c.Version = *version
	return c
}

func fail(err error) {
	fmt.Println("FAIL", err)
	os.Exit(1)
}

func serve() {
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fail(err)
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
				fail(err)
			}
			for {
				st, err := sess.AcceptStream()
				if err != nil {
					sess.Close()
					return
				}
				go func() {
					io.Copy(st, st)
					st.Close()
				}()
			}
		}()
	}
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

func client() {
	conn, err := net.Dial("tcp", *addr)
	if err != nil {
		fail(err)
	}
	sess, err := smux.Client(conn, config())
	if err != nil {
		fail(err)
	}
	buf := make([]byte, *wsize)
	for i := range buf {
		buf[i] = byte(i * 7)
	}
	cpu0 := cpuSeconds()
	start := time.Now()
	var wg sync.WaitGroup
	for i := 0; i < *streams; i++ {
		st, err := sess.OpenStream()
		if err != nil {
			fail(err)
		}
		wg.Add(2)
		go func() {
			defer wg.Done()
			for sent := 0; sent < *total; {
				n := *wsize
				if *total-sent < n {
					n = *total - sent
				}
				if _, err := st.Write(buf[:n]); err != nil {
					fail(err)
				}
				sent += n
			}
		}()
		go func() {
			defer wg.Done()
			rb := make([]byte, 64*1024)
			for got := 0; got < *total; {
				n, err := st.Read(rb)
				if err != nil {
					fail(err)
				}
				got += n
			}
			st.Close()
		}()
	}
	wg.Wait()
	secs := time.Since(start).Seconds()
	all := float64(*total) * float64(*streams)
	fmt.Printf("bytes=%.0f seconds=%.3f MB/s=%.1f cpu_s=%.3f\n", all, secs, all/secs/1e6, cpuSeconds()-cpu0)
	sess.Close()
}

func idle() {
	var keep []*smux.Stream
	for s := 0; s < *sessions; s++ {
		conn, err := net.Dial("tcp", *addr)
		if err != nil {
			fail(err)
		}
		cfg := config()
		cfg.KeepAliveInterval = time.Hour // idle means idle: no NOPs during the sample
		cfg.KeepAliveTimeout = 2 * time.Hour
		sess, err := smux.Client(conn, cfg)
		if err != nil {
			fail(err)
		}
		for i := 0; i < *streams; i++ {
			st, err := sess.OpenStream()
			if err != nil {
				fail(err)
			}
			keep = append(keep, st)
		}
	}
	time.Sleep(500 * time.Millisecond) // let the server accept everything
	fmt.Println("ready")
	io.Copy(io.Discard, os.Stdin)
	_ = keep
}

func main() {
	flag.Parse()
	switch *mode {
	case "server":
		serve()
	case "client":
		client()
	case "idle":
		idle()
	default:
		fail(fmt.Errorf("unknown mode %s", *mode))
	}
}
