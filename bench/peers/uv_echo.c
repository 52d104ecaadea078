/* uv_echo: a libuv echo server written for speed, as a fair contender.
 *
 * Reads land in one shared 64 KiB buffer (the alloc callback hands out the
 * same static block: the loop is single-threaded and every read is consumed
 * before the next). Each read is echoed with uv_try_write(); only what the
 * kernel did not take is copied and queued with uv_write(). A per-read
 * malloc of the suggested 64 KiB, as in libuv's own examples, makes glibc
 * trim and regrow the heap every few reads and measures malloc, not libuv.
 * Single loop, TCP_NODELAY.
 *
 *   bench-uv-echo --port N     (binds 127.0.0.1:N; runs until SIGINT/SIGTERM)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

typedef struct {
  uv_write_t req;
  uv_buf_t buf;
} write_req_t;

static uv_loop_t* loop;

static void check(int rc, const char* what) {
  if (rc < 0) {
    fprintf(stderr, "%s: %s\n", what, uv_strerror(rc));
    exit(1);
  }
}

static void on_close(uv_handle_t* handle) {
  free(handle);
}

static char read_buffer[64 * 1024];

static void on_alloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf) {
  (void)handle;
  (void)suggested;
  buf->base = read_buffer;
  buf->len = sizeof read_buffer;
}

static void on_write(uv_write_t* req, int status) {
  write_req_t* wr = (write_req_t*)req;
  uv_handle_t* client = (uv_handle_t*)req->handle;
  free(wr->buf.base);
  free(wr);
  if (status < 0 && !uv_is_closing(client)) uv_close(client, on_close);
}

static void on_read(uv_stream_t* client, ssize_t nread, const uv_buf_t* buf) {
  if (nread > 0) {
    uv_buf_t out = uv_buf_init(buf->base, (unsigned)nread);
    int sent = uv_try_write(client, &out, 1);
    if (sent == UV_EAGAIN) sent = 0;
    if (sent < 0) {
      if (!uv_is_closing((uv_handle_t*)client)) uv_close((uv_handle_t*)client, on_close);
      return;
    }
    if (sent == nread) return;
    /* Queue the rest: a copy, since the read buffer is reused. */
    write_req_t* wr = malloc(sizeof *wr);
    char* rest = malloc((size_t)(nread - sent));
    if (!wr || !rest) exit(1);
    memcpy(rest, buf->base + sent, (size_t)(nread - sent));
    wr->buf = uv_buf_init(rest, (unsigned)(nread - sent));
    if (uv_write(&wr->req, client, &wr->buf, 1, on_write) < 0) {
      free(rest);
      free(wr);
      if (!uv_is_closing((uv_handle_t*)client)) uv_close((uv_handle_t*)client, on_close);
    }
    return;
  }
  if (nread < 0 && !uv_is_closing((uv_handle_t*)client)) /* UV_EOF or error */
    uv_close((uv_handle_t*)client, on_close);
}

static void on_connection(uv_stream_t* server, int status) {
  if (status < 0) return;
  uv_tcp_t* client = malloc(sizeof *client);
  if (!client) exit(1);
  uv_tcp_init(loop, client);
  if (uv_accept(server, (uv_stream_t*)client) != 0) {
    uv_close((uv_handle_t*)client, on_close);
    return;
  }
  uv_tcp_nodelay(client, 1);
  uv_read_start((uv_stream_t*)client, on_alloc, on_read);
}

static void on_signal(uv_signal_t* handle, int signum) {
  (void)signum;
  uv_stop(handle->loop);
}

int main(int argc, char** argv) {
  int port = 0;
  for (int i = 1; i + 1 < argc; i += 2)
    if (strcmp(argv[i], "--port") == 0) port = atoi(argv[i + 1]);
  if (port <= 0 || port > 65535) {
    fprintf(stderr, "usage: %s --port N\n", argv[0]);
    return 2;
  }

  loop = uv_default_loop();
  uv_signal_t sigint, sigterm;
  uv_signal_init(loop, &sigint);
  uv_signal_init(loop, &sigterm);
  uv_signal_start(&sigint, on_signal, SIGINT);
  uv_signal_start(&sigterm, on_signal, SIGTERM);

  uv_tcp_t server;
  struct sockaddr_in addr;
  uv_tcp_init(loop, &server);
  check(uv_ip4_addr("127.0.0.1", port, &addr), "uv_ip4_addr");
  check(uv_tcp_bind(&server, (const struct sockaddr*)&addr, 0), "bind");
  check(uv_listen((uv_stream_t*)&server, SOMAXCONN, on_connection), "listen");

  printf("listening on tcp://127.0.0.1:%d\n", port);
  fflush(stdout);
  uv_run(loop, UV_RUN_DEFAULT);
  return 0; /* stopped by a signal; the OS reclaims the connections */
}
