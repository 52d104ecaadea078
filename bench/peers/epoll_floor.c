/* epoll_floor: the floor of the design -- a hand-written, single-threaded,
 * level-triggered epoll echo server.
 *
 * Per readable event: one read() into a shared 64 KiB static buffer, one
 * write() of what was read. If the write is partial, the rest is copied into
 * a per-connection buffer, reading stops, and the connection waits for
 * EPOLLOUT until the backlog is flushed. No other per-connection state.
 *
 *   bench-epoll-floor --port N     (binds 127.0.0.1:N, 0: any free port, and
 *                                   prints it; runs until SIGINT/SIGTERM)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

struct pending { /* unsent echo bytes of one connection */
  size_t off, len;
  char data[];
};

static char buf[64 * 1024];
static struct pending** pend; /* indexed by fd, NULL when nothing pending */
static volatile sig_atomic_t stop;

static void on_signal(int sig) {
  (void)sig;
  stop = 1;
}

static void die(const char* what) {
  perror(what);
  exit(1);
}

static void set_events(int ep, int fd, unsigned events) {
  struct epoll_event ev = {.events = events, .data.fd = fd};
  if (epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev) != 0) die("epoll_ctl(MOD)");
}

static void drop(int fd) {
  free(pend[fd]);
  pend[fd] = NULL;
  close(fd); /* also removes it from the epoll set */
}

static void on_readable(int ep, int fd) {
  ssize_t n = read(fd, buf, sizeof buf);
  if (n <= 0) {
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    drop(fd);
    return;
  }
  ssize_t w = write(fd, buf, (size_t)n);
  if (w < 0) {
    if (errno != EAGAIN) {
      drop(fd);
      return;
    }
    w = 0;
  }
  if (w < n) { /* partial: keep the rest, stop reading until it is out */
    size_t rest = (size_t)(n - w);
    struct pending* p = malloc(sizeof *p + rest);
    if (!p) die("malloc");
    p->off = 0;
    p->len = rest;
    memcpy(p->data, buf + w, rest);
    pend[fd] = p;
    set_events(ep, fd, EPOLLOUT);
  }
}

static void on_writable(int ep, int fd) {
  struct pending* p = pend[fd];
  ssize_t w = write(fd, p->data + p->off, p->len - p->off);
  if (w < 0) {
    if (errno != EAGAIN && errno != EINTR) drop(fd);
    return;
  }
  p->off += (size_t)w;
  if (p->off == p->len) {
    free(p);
    pend[fd] = NULL;
    set_events(ep, fd, EPOLLIN);
  }
}

int main(int argc, char** argv) {
  int port = 0;
  for (int i = 1; i + 1 < argc; i += 2)
    if (strcmp(argv[i], "--port") == 0) port = atoi(argv[i + 1]);
  if (port < 0 || port > 65535) {
    fprintf(stderr, "usage: %s --port N\n", argv[0]);
    return 2;
  }

  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) die("getrlimit");
  size_t max_fds = rl.rlim_cur == RLIM_INFINITY ? 1u << 20 : (size_t)rl.rlim_cur;
  pend = calloc(max_fds, sizeof *pend);
  if (!pend) die("calloc");

  struct sigaction sa = {.sa_handler = on_signal}; /* no SA_RESTART: epoll_wait returns EINTR */
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (lfd < 0) die("socket");
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(lfd, (struct sockaddr*)&addr, sizeof addr) != 0) die("bind");
  if (listen(lfd, SOMAXCONN) != 0) die("listen");
  socklen_t alen = sizeof addr;
  if (getsockname(lfd, (struct sockaddr*)&addr, &alen) != 0) die("getsockname");
  port = ntohs(addr.sin_port);

  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) die("epoll_create1");
  struct epoll_event lev = {.events = EPOLLIN, .data.fd = lfd};
  if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &lev) != 0) die("epoll_ctl(ADD)");

  printf("listening on tcp://127.0.0.1:%d\n", port);
  fflush(stdout);

  struct epoll_event events[256];
  while (!stop) {
    int n = epoll_wait(ep, events, 256, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    for (int i = 0; i < n; ++i) {
      int fd = events[i].data.fd;
      if (fd == lfd) {
        for (;;) { /* drain the accept queue */
          int cfd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (cfd < 0) {
            if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) perror("accept4");
            break;
          }
          if ((size_t)cfd >= max_fds) { /* cannot happen under RLIMIT_NOFILE */
            close(cfd);
            continue;
          }
          setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          struct epoll_event ev = {.events = EPOLLIN, .data.fd = cfd};
          if (epoll_ctl(ep, EPOLL_CTL_ADD, cfd, &ev) != 0) die("epoll_ctl(ADD)");
        }
      } else if (pend[fd]) {
        on_writable(ep, fd); /* only EPOLLOUT (or ERR/HUP) is armed */
      } else {
        on_readable(ep, fd);
      }
    }
  }
  return 0;
}
