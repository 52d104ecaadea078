// ws_gorilla: a gorilla/websocket peer for tests/interop/ws_gorilla.sh.
//
//	ws_gorilla server [-compress] [-cert PEM -key PEM]  echo server on 127.0.0.1:0 (TLS with
//	                                                     -cert), prints "listening on PORT"
//	ws_gorilla client [-compress] [-ca PEM] URL  sends text, binary and large messages, checks
//	                                             the echo (wss:// trusts -ca)
//	ws_gorilla get URL BODY             a plain HTTP GET whose 200 body must be BODY
package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/gorilla/websocket"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: ws_gorilla server|client [-compress] [URL]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	compress := fs.Bool("compress", false, "permessage-deflate")
	cert := fs.String("cert", "", "server: TLS certificate (PEM file)")
	key := fs.String("key", "", "server: TLS key (PEM file)")
	ca := fs.String("ca", "", "client: CA to trust for wss:// (PEM file)")
	_ = fs.Parse(os.Args[2:])
	switch os.Args[1] {
	case "server":
		serve(*compress, *cert, *key)
	case "get":
		if err := get(fs.Arg(0), fs.Arg(1)); err != nil {
			fmt.Println("FAIL", err)
			os.Exit(1)
		}
		fmt.Println("ok")
	case "client":
		if err := run(fs.Arg(0), *compress, *ca); err != nil {
			fmt.Println("FAIL", err)
			os.Exit(1)
		}
		fmt.Println("ok")
	default:
		os.Exit(2)
	}
}

func serve(compress bool, cert, key string) {
	up := websocket.Upgrader{EnableCompression: compress, ReadBufferSize: 4096, WriteBufferSize: 4096}
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		c.SetReadLimit(64 << 20)
		for {
			op, msg, err := c.ReadMessage()
			if err != nil {
				return
			}
			if err := c.WriteMessage(op, msg); err != nil {
				return
			}
		}
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("listening on %d\n", ln.Addr().(*net.TCPAddr).Port)
	if cert != "" {
		_ = http.ServeTLS(ln, nil, cert, key)
		return
	}
	_ = http.Serve(ln, nil)
}

func run(url string, compress bool, ca string) error {
	d := websocket.Dialer{EnableCompression: compress, HandshakeTimeout: 5 * time.Second}
	if ca != "" {
		pem, err := os.ReadFile(ca)
		if err != nil {
			return err
		}
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return fmt.Errorf("no certificate in %s", ca)
		}
		d.TLSClientConfig = &tls.Config{RootCAs: roots}
	}
	c, resp, err := d.Dial(url, nil)
	if err != nil {
		return err
	}
	defer c.Close()
	agreed := resp.Header.Get("Sec-WebSocket-Extensions") != ""
	if agreed != compress {
		return fmt.Errorf("permessage-deflate agreed=%v, wanted %v", agreed, compress)
	}
	c.SetReadLimit(64 << 20)
	_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
	large := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	binary := []byte{0, 1, 2, 0xff, 0x80, 0}
	msgs := []struct {
		op   int
		data []byte
	}{
		{websocket.TextMessage, []byte("hello from gorilla")},
		{websocket.BinaryMessage, binary},
		{websocket.TextMessage, large},
		{websocket.BinaryMessage, large},
		{websocket.TextMessage, []byte("hello from gorilla")},
		{websocket.TextMessage, []byte{}},
	}
	for i, m := range msgs {
		if err := c.WriteMessage(m.op, m.data); err != nil {
			return fmt.Errorf("write %d: %v", i, err)
		}
		op, got, err := c.ReadMessage()
		if err != nil {
			return fmt.Errorf("read %d: %v", i, err)
		}
		if op != m.op || !bytes.Equal(got, m.data) {
			return fmt.Errorf("message %d: echo differs (op %d, %d bytes)", i, op, len(got))
		}
	}
	msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "done")
	_ = c.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
	if _, _, err := c.ReadMessage(); !websocket.IsCloseError(err, websocket.CloseNormalClosure) {
		return fmt.Errorf("close: %v", err)
	}
	return nil
}

func get(url, want string) error {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != 200 || string(body) != want {
		return fmt.Errorf("status %d, body %q", resp.StatusCode, body)
	}
	return nil
}
