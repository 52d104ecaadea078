// gorilla_ws_echo: the gorilla/websocket echo server bench/run_ws.sh and
// bench/run_ws_memory.sh compare weft with. The idiomatic shape: one
// goroutine per connection reading a message and writing it back (one
// write, and one flush, per message). No compression. Built by the scripts
// in GOPATH mode against Debian's golang-github-gorilla-websocket-dev and run
// with GOMAXPROCS=1.
//
//	gorilla_ws_echo -port N [-path /]
package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"

	"github.com/gorilla/websocket"
)

func main() {
	port := flag.Int("port", 0, "TCP port on 127.0.0.1")
	path := flag.String("path", "/", "the WebSocket route")
	flag.Parse()

	up := websocket.Upgrader{ReadBufferSize: 4096, WriteBufferSize: 4096}
	http.HandleFunc(*path, func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		c.SetReadLimit(16 << 20)
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
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", *port))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("listening on %s\n", ln.Addr())
	_ = http.Serve(ln, nil)
}
