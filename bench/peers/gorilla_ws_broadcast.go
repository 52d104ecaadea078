// gorilla_ws_broadcast: the gorilla/websocket peer of bench/run_ws_broadcast.sh,
// speaking the protocol of bench-ws-broadcast-server: every WebSocket on
// /sub is a subscriber; "pub N" on /ctl sends one binary message of N bytes
// to all of them. The idiomatic shape for a broadcast: a hub holding the
// subscribers, one writer goroutine per connection fed by a buffered
// channel (a full channel drops the message for that subscriber), and a
// PreparedMessage so the frame (and its compressed form, when
// permessage-deflate was agreed) is made once per message. Built by the
// script in GOPATH mode against Debian's golang-github-gorilla-websocket-dev.
//
//	gorilla_ws_broadcast -port N
package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/gorilla/websocket"
)

type hub struct {
	mu   sync.Mutex
	subs map[chan *websocket.PreparedMessage]struct{}
}

func (h *hub) add(c chan *websocket.PreparedMessage) {
	h.mu.Lock()
	h.subs[c] = struct{}{}
	h.mu.Unlock()
}

func (h *hub) remove(c chan *websocket.PreparedMessage) {
	h.mu.Lock()
	delete(h.subs, c)
	h.mu.Unlock()
}

func (h *hub) publish(pm *websocket.PreparedMessage) {
	h.mu.Lock()
	for c := range h.subs {
		select {
		case c <- pm:
		default: // this subscriber is behind: it misses the message
		}
	}
	h.mu.Unlock()
}

func payload(n int) []byte {
	const words = "broadcast to every subscriber on every loop "
	var b strings.Builder
	for b.Len() < n {
		b.WriteString(words[:min(len(words), n-b.Len())])
	}
	return []byte(b.String())
}

func min(a, b int) int {
	if a < b {
		return a
	}
	return b
}

func main() {
	port := flag.Int("port", 0, "TCP port on 127.0.0.1")
	flag.Parse()

	h := &hub{subs: map[chan *websocket.PreparedMessage]struct{}{}}
	up := websocket.Upgrader{ReadBufferSize: 1024, WriteBufferSize: 4096, EnableCompression: true}

	http.HandleFunc("/sub", func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		send := make(chan *websocket.PreparedMessage, 64)
		h.add(send)
		go func() {
			for pm := range send {
				if c.WritePreparedMessage(pm) != nil {
					return
				}
			}
		}()
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				break
			}
		}
		h.remove(send)
		close(send)
		c.Close()
	})

	http.HandleFunc("/ctl", func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		var data []byte
		for {
			_, msg, err := c.ReadMessage()
			if err != nil {
				return
			}
			s := string(msg)
			if !strings.HasPrefix(s, "pub ") {
				continue
			}
			n, _ := strconv.Atoi(s[4:])
			if len(data) != n {
				data = payload(n)
			}
			pm, err := websocket.NewPreparedMessage(websocket.BinaryMessage, data)
			if err == nil {
				h.publish(pm)
			}
		}
	})

	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", *port))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("listening on %s\n", ln.Addr())
	_ = http.Serve(ln, nil)
}
