/* lws_ws_echo: the libwebsockets echo server bench/run_ws.sh compares weft
 * with. One context, one service thread (lws's own poll() event loop, the
 * default), no extensions (permessage-deflate is not offered: no
 * info.extensions), one protocol that is also the default for clients that
 * name none. Every complete message is queued and written back as one frame
 * of the same type, one lws_write() per WRITEABLE callback as lws requires.
 * rx_buffer_size is 64 KiB so a 16 KiB message usually arrives in one
 * callback (smaller chunks are reassembled).
 *
 *   lws_ws_echo --port N
 */
#include <libwebsockets.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A queued message, with LWS_PRE bytes of headroom for the frame header. */
struct msg {
  struct msg* next;
  size_t len;
  int binary;
  unsigned char buf[]; /* LWS_PRE + len */
};

struct session {
  struct msg *head, *tail; /* complete messages waiting to be written */
  unsigned char* rx;       /* the message being received: LWS_PRE + rx_len */
  size_t rx_len, rx_cap;
};

static volatile sig_atomic_t interrupted;
static struct lws_context* context;

static void on_signal(int sig) {
  (void)sig;
  interrupted = 1;
  lws_cancel_service(context);
}

static void free_session(struct session* s) {
  while (s->head) {
    struct msg* m = s->head;
    s->head = m->next;
    free(m);
  }
  s->tail = NULL;
  free(s->rx);
  s->rx = NULL;
  s->rx_len = s->rx_cap = 0;
}

/* Appends a received chunk; queues the message once it is complete. */
static int on_receive(struct lws* wsi, struct session* s, const void* in, size_t len) {
  if (s->rx_len + len > s->rx_cap) {
    size_t cap = s->rx_cap ? s->rx_cap : 256;
    while (cap < s->rx_len + len)
      cap *= 2;
    unsigned char* rx = realloc(s->rx, LWS_PRE + cap);
    if (!rx) return -1;
    s->rx = rx;
    s->rx_cap = cap;
  }
  memcpy(s->rx + LWS_PRE + s->rx_len, in, len);
  s->rx_len += len;
  if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi) > 0) return 0;

  struct msg* m = malloc(sizeof *m + LWS_PRE + s->rx_len);
  if (!m) return -1;
  m->next = NULL;
  m->len = s->rx_len;
  m->binary = lws_frame_is_binary(wsi);
  memcpy(m->buf + LWS_PRE, s->rx + LWS_PRE, s->rx_len);
  s->rx_len = 0;
  if (s->tail)
    s->tail->next = m;
  else
    s->head = m;
  s->tail = m;
  lws_callback_on_writable(wsi);
  return 0;
}

static int on_writeable(struct lws* wsi, struct session* s) {
  struct msg* m = s->head;
  if (!m) return 0;
  int n = lws_write(wsi, m->buf + LWS_PRE, m->len, m->binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT);
  if (n < (int)m->len) return -1;
  s->head = m->next;
  if (!s->head) s->tail = NULL;
  free(m);
  if (s->head) lws_callback_on_writable(wsi);
  return 0;
}

static int callback_echo(struct lws* wsi, enum lws_callback_reasons reason, void* user, void* in,
                         size_t len) {
  struct session* s = user;
  switch (reason) {
    case LWS_CALLBACK_ESTABLISHED:
      memset(s, 0, sizeof *s);
      return 0;
    case LWS_CALLBACK_RECEIVE:
      return on_receive(wsi, s, in, len);
    case LWS_CALLBACK_SERVER_WRITEABLE:
      return on_writeable(wsi, s);
    case LWS_CALLBACK_CLOSED:
      free_session(s);
      return 0;
    default:
      return lws_callback_http_dummy(wsi, reason, user, in, len);
  }
}

static const struct lws_protocols protocols[] = {
    {"echo", callback_echo, sizeof(struct session), 64 * 1024, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

int main(int argc, char** argv) {
  int port = 0;
  for (int i = 1; i + 1 < argc; i += 2)
    if (strcmp(argv[i], "--port") == 0) port = atoi(argv[i + 1]);
  if (port <= 0 || port > 65535) {
    fprintf(stderr, "usage: lws_ws_echo --port N\n");
    return 2;
  }
  lws_set_log_level(LLL_ERR, NULL);

  struct lws_context_creation_info info;
  memset(&info, 0, sizeof info);
  info.port = port;
  info.iface = "127.0.0.1";
  info.protocols = protocols;
  info.options = LWS_SERVER_OPTION_DISABLE_IPV6;
  info.count_threads = 1;
  context = lws_create_context(&info);
  if (!context) {
    fprintf(stderr, "lws_ws_echo: lws_create_context failed\n");
    return 1;
  }
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  printf("listening on 127.0.0.1:%d\n", port);
  fflush(stdout);
  while (!interrupted && lws_service(context, 0) >= 0) {
  }
  lws_context_destroy(context);
  return 0;
}
