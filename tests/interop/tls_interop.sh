#!/usr/bin/env bash
# tls_interop.sh BUILD_DIR — the tls_echo example against real TLS peers:
# openssl s_client (versions, verification, ALPN, resumption, OCSP
# stapling, SNI, client certificates), curl, Python's ssl module (1 MiB
# round trips), hostile and broken clients (the server must drop them and
# give every descriptor back), and testssl.sh (no HIGH or CRITICAL finding).
# Certificates are made here with the openssl CLI: a CA, a server
# certificate for localhost, one for other.test (SNI), a client certificate
# and a stapled OCSP response. Everything runs on 127.0.0.1.
# Exit status 77 (ctest: skipped) when openssl, curl or /usr/bin/python3 is
# missing; testssl.sh alone missing skips only its section.
# PORT_x and PID_x are set by start() through printf -v; the sclient waiter
# reads the file s_client writes on purpose; /proc/PID/fd names are numbers.
# shellcheck disable=SC2154,SC2094,SC2012
set -euo pipefail

BUILD=${1:?usage: tls_interop.sh BUILD_DIR}
BUILD=$(cd "$BUILD" && pwd)
BIN=$BUILD/examples/tls_echo
OUTDIR=$BUILD/tls_interop
PY=/usr/bin/python3
[[ -x $BIN ]] || { echo "FAIL - $BIN not built" >&2; exit 1; }
for prog in openssl curl "$PY"; do
  if ! command -v "$prog" >/dev/null; then
    echo "skip - $prog not installed (scripts/install-deps.sh installs it)"
    exit 77
  fi
done
TESTSSL=$(command -v testssl.sh || command -v testssl || true)

TMP=$(mktemp -d)
PIDS=()
cleanup() {
  local pid
  cp "$TMP"/*.err "$TMP"/*.json "$OUTDIR"/ 2>/dev/null || true  # server logs and configs
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$OUTDIR"

FAILS=0
CHECKS=0
pass() { CHECKS=$((CHECKS + 1)); echo "ok - $*"; }
fail() { CHECKS=$((CHECKS + 1)); FAILS=$((FAILS + 1)); echo "FAIL - $*"; }
# show FILE: the lines of FILE that say what happened, indented, for a FAIL.
show() {
  grep -E ':error:|alert|Protocol *:|^(New|Reused),|ALPN|Verif|^subject=|OCSP Response Status|no response sent|SSL connection|certificate verify|^DONE|^closed' \
    "$1" 2>/dev/null | head -15 | sed 's/^/    /' || true
}
START=$SECONDS

# ---- certificates --------------------------------------------------------------
PKI=$TMP/pki
mkdir -p "$PKI"
(
  cd "$PKI"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 365 -sha256 \
    -subj "/CN=weft interop CA" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  # leaf NAME CN EXTENDED_KEY_USAGE [SUBJECT_ALT_NAME]: a key and a certificate signed by the CA.
  # The OCSP and CRL addresses are never contacted; testssl.sh counts a
  # certificate without either as a HIGH finding.
  leaf() {
    openssl req -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.csr" -subj "/CN=$2" 2>/dev/null
    {
      echo "basicConstraints=critical,CA:FALSE"
      echo "keyUsage=critical,digitalSignature,keyEncipherment"
      echo "extendedKeyUsage=$3"
      echo "authorityInfoAccess=OCSP;URI:http://127.0.0.1:9/ocsp"
      echo "crlDistributionPoints=URI:http://127.0.0.1:9/ca.crl"
      [[ -z ${4:-} ]] || echo "subjectAltName=$4"
    } >"$1.ext"
    openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 90 -sha256 \
      -extfile "$1.ext" -out "$1.pem" 2>/dev/null
  }
  leaf server localhost serverAuth "DNS:localhost,IP:127.0.0.1"
  leaf other other.test serverAuth "DNS:other.test"
  leaf client "weft interop client" clientAuth
  # OCSP response for server.pem, signed by the CA as responder: the CA
  # database (index.txt) lists it as valid; openssl ocsp answers locally.
  serial=$(openssl x509 -in server.pem -noout -serial | cut -d= -f2)
  enddate=$(date -u -d "$(openssl x509 -in server.pem -noout -enddate | cut -d= -f2)" +%y%m%d%H%M%SZ)
  printf 'V\t%s\t\t%s\tunknown\t/CN=localhost\n' "$enddate" "$serial" >index.txt
  openssl ocsp -index index.txt -rsigner ca.pem -rkey ca.key -CA ca.pem -issuer ca.pem \
    -cert server.pem -no_nonce -respout resp.der -ndays 1 >ocsp.out 2>&1
  openssl ocsp -respin resp.der -CAfile ca.pem -issuer ca.pem -cert server.pem >ocsp.check 2>&1
  grep -q 'server.pem: good' ocsp.check
) || { echo "FAIL - could not make the test certificates"; exit 1; }

# ---- servers -------------------------------------------------------------------
# start NAME JSON: runs tls_echo with the config JSON on a free port; sets
# PORT_NAME and PID_NAME.
start() {
  local name=$1 json=$2 pid port=""
  printf '%s\n' "$json" >"$TMP/$name.json"
  "$BIN" --listen tls://127.0.0.1:0 --config "$TMP/$name.json" \
    >"$TMP/$name.out" 2>"$TMP/$name.err" &
  pid=$!
  PIDS+=("$pid")
  for _ in $(seq 200); do
    port=$(sed -n 's|^listening on tls://127.0.0.1:\([0-9]*\)$|\1|p' "$TMP/$name.out" 2>/dev/null | head -1)
    [[ -n $port ]] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  if [[ -z $port ]]; then
    echo "FAIL - server $name did not start:"
    sed 's/^/    /' "$TMP/$name.out" "$TMP/$name.err"
    exit 1
  fi
  printf -v "PORT_$name" '%s' "$port"
  printf -v "PID_$name" '%s' "$pid"
}
# dead NAME: true when server NAME has exited; GONE then says how, with the
# end of its stderr. (Not in a subshell: wait must run in this shell.)
GONE=""
declare -A STATUS=()
dead() {
  local pid_var=PID_$1 status=0
  kill -0 "${!pid_var}" 2>/dev/null && return 1
  if [[ -n ${STATUS[$1]:-} ]]; then
    status=${STATUS[$1]}
  else
    wait "${!pid_var}" || status=$?
    STATUS[$1]=$status
  fi
  ((status > 128)) && status="$status (signal $((status - 128)))"
  GONE="server $1 (pid ${!pid_var}) exited with status $status; stderr: $({ grep -v ' weft info: ' "$TMP/$1.err" || true; } | tail -5 | tr '\n' ' ')"
  [[ $GONE != *"stderr: " ]] || GONE+="(nothing)"
}
CERT="\"sslPem\": \"$PKI/server.pem\", \"sslKey\": \"$PKI/server.key\""
SEED='"tlsSessionTicketSeed": "weft interop ticket seed, shared by main and twin"'
# main: SNI, ALPN, OCSP staple, a ticket seed and a short handshake timeout.
MAIN_JSON="{ $CERT, \"sslCerts\": [{\"sslPem\": \"$PKI/other.pem\", \"sslKey\": \"$PKI/other.key\"}],
  \"tlsNextProtos\": [\"h2\", \"http/1.1\"], \"sslOcspStaple\": \"$PKI/resp.der\", $SEED,
  \"tlsHandshakeTimeout\": 500 }"
start main "$MAIN_JSON"
FD_BASE=$(ls "/proc/$PID_main/fd" | wc -l)
start twin "{ $CERT, $SEED }"                                   # another process, same seed
start notickets "{ $CERT, \"tlsSessionTicketsDisabled\": true }" # and no OCSP staple
start mtls "{ $CERT, \"tlsClientAuth\": \"require\", \"tlsClientCA\": \"$PKI/ca.pem\" }"
echo "# tls_echo servers: main $PORT_main, twin $PORT_twin, notickets $PORT_notickets, mtls $PORT_mtls ($FD_BASE descriptors open in main)"

# ---- openssl s_client ----------------------------------------------------------
# sclient PORT MSG OUT ARGS...: s_client verifying against the CA; sends the
# line MSG, waits (up to 5 s) for it to come back or for an error, then
# closes. All output in OUT; status of s_client returned.
N=0
sclient() {
  local port=$1 msg=$2 out=$3
  shift 3
  N=$((N + 1))
  {
    printf '%s\n' "$msg"
    for _ in $(seq 50); do
      grep -q -F -e "$msg" -e ':error:' "$out" 2>/dev/null && break
      sleep 0.1
    done
  } | timeout 15 openssl s_client -connect "127.0.0.1:$port" -CAfile "$PKI/ca.pem" \
    -verify_return_error "$@" >"$out" 2>&1
}
# echoed OUT MSG: MSG came back. s_client writes what it receives unbuffered
# while its session report is buffered, so the line can land inside another.
echoed() { grep -q -F -e "$2" "$1"; }

for v in 1.3 1.2; do
  out=$TMP/basic$v
  msg="hello over TLS $v"
  if sclient "$PORT_main" "$msg" "$out" "-tls${v/./_}" -servername localhost -verify_hostname localhost &&
    grep -q "^ *Protocol *: TLSv$v\$" "$out" && grep -q '^ *Verify return code: 0 (ok)' "$out" &&
    echoed "$out" "$msg"; then
    pass "s_client -tls${v/./_}: TLSv$v, certificate verified against the CA, line echoed"
  else
    fail "s_client -tls${v/./_}: want Protocol TLSv$v, Verify return code 0 and the echo; got:"
    show "$out"
  fi
done

# ALPN: the server offers h2 and http/1.1.
out=$TMP/alpn
if sclient "$PORT_main" alpn "$out" -servername localhost -alpn http/1.1 &&
  grep -q '^ALPN protocol: http/1.1$' "$out" && echoed "$out" alpn; then
  pass "ALPN: -alpn http/1.1 selects http/1.1"
else
  fail "ALPN: -alpn http/1.1 did not give 'ALPN protocol: http/1.1'"; show "$out"
fi
out=$TMP/alpn-foo
if ! sclient "$PORT_main" alpn-foo "$out" -servername localhost -alpn foo &&
  grep -q 'alert no application protocol' "$out" && ! echoed "$out" alpn-foo; then
  pass "ALPN: -alpn foo is refused with a no_application_protocol alert"
else
  fail "ALPN: -alpn foo should fail the handshake (no_application_protocol); got:"; show "$out"
fi

# Resumption with session tickets.
for v in 1.3 1.2; do
  flag=-tls${v/./_}
  sclient "$PORT_main" "first $v" "$TMP/res1-$v" "$flag" -servername localhost \
    -sess_out "$TMP/sess-$v" || true
  out=$TMP/res2-$v
  if [[ -s $TMP/sess-$v ]] && sclient "$PORT_main" "second $v" "$out" "$flag" \
    -servername localhost -sess_in "$TMP/sess-$v" && grep -q "^Reused, TLSv$v," "$out" &&
    echoed "$out" "second $v"; then
    pass "resumption TLSv$v: the second connection is Reused"
  else
    fail "resumption TLSv$v: want 'Reused, TLSv$v' with -sess_in; got:"; show "$out"
  fi
  out=$TMP/res3-$v
  if [[ -s $TMP/sess-$v ]] && sclient "$PORT_twin" "twin $v" "$out" "$flag" \
    -servername localhost -sess_in "$TMP/sess-$v" && grep -q "^Reused, TLSv$v," "$out" &&
    echoed "$out" "twin $v"; then
    pass "resumption TLSv$v: a session from one process resumes on another with the same tlsSessionTicketSeed"
  else
    fail "resumption TLSv$v across processes with the same seed: want 'Reused'; got:"; show "$out"
  fi
  # With tickets off, TLS 1.2 gets no session ID either (nothing to save)
  # and TLS 1.3 may get a ticket the server will not honour: both are "New".
  out=$TMP/nt1-$v
  if ! sclient "$PORT_notickets" "nt first $v" "$out" "$flag" -servername localhost \
    -sess_out "$TMP/ntsess-$v" || ! echoed "$out" "nt first $v"; then
    fail "tlsSessionTicketsDisabled, TLSv$v: the first connection failed; got:"; show "$out"
  elif [[ ! -s $TMP/ntsess-$v ]]; then
    pass "tlsSessionTicketsDisabled, TLSv$v: no resumption (no ticket, no session ID: nothing to resume)"
  else
    out=$TMP/nt2-$v
    if sclient "$PORT_notickets" "nt second $v" "$out" "$flag" -servername localhost \
      -sess_in "$TMP/ntsess-$v" && grep -q "^New, TLSv$v," "$out" && echoed "$out" "nt second $v"; then
      pass "tlsSessionTicketsDisabled, TLSv$v: no resumption (New)"
    else
      fail "tlsSessionTicketsDisabled, TLSv$v: want 'New' on the second connection; got:"; show "$out"
    fi
  fi
done

# OCSP stapling.
out=$TMP/ocsp
if sclient "$PORT_main" ocsp "$out" -servername localhost -status &&
  grep -q 'OCSP Response Status: successful' "$out" && grep -q 'Cert Status: good' "$out"; then
  pass "OCSP: s_client -status gets the stapled response (successful, good)"
else
  fail "OCSP: want 'OCSP Response Status: successful' with sslOcspStaple; got:"; show "$out"
fi
out=$TMP/noocsp
if sclient "$PORT_notickets" noocsp "$out" -servername localhost -status &&
  grep -q 'OCSP response: no response sent' "$out"; then
  pass "OCSP: without sslOcspStaple, 'no response sent'"
else
  fail "OCSP: want 'no response sent' without sslOcspStaple; got:"; show "$out"
fi

# SNI.
out=$TMP/sni-other
if sclient "$PORT_main" sni "$out" -servername other.test -verify_hostname other.test &&
  grep -q '^subject=CN = other.test$' "$out" && echoed "$out" sni; then
  pass "SNI: -servername other.test gets the other.test certificate"
else
  fail "SNI: -servername other.test should get subject CN other.test; got:"; show "$out"
fi
out=$TMP/sni-localhost
if sclient "$PORT_main" sni "$out" -servername localhost -verify_hostname localhost &&
  grep -q '^subject=CN = localhost$' "$out" && echoed "$out" sni; then
  pass "SNI: -servername localhost gets the localhost certificate"
else
  fail "SNI: -servername localhost should get subject CN localhost; got:"; show "$out"
fi

# Client certificates (tlsClientAuth require).
for v in 1.3 1.2; do
  flag=-tls${v/./_}
  out=$TMP/mtls-none-$v
  sclient "$PORT_mtls" "no cert $v" "$out" "$flag" -servername localhost || true
  if ! echoed "$out" "no cert $v" && grep -q -i 'alert' "$out"; then
    pass "mTLS TLSv$v: without a client certificate the server refuses ($(grep -o -m1 'alert [a-z ]*' "$out" | head -1))"
  else
    fail "mTLS TLSv$v: without a client certificate the connection should fail; got:"; show "$out"
  fi
  out=$TMP/mtls-cert-$v
  if sclient "$PORT_mtls" "with cert $v" "$out" "$flag" -servername localhost \
    -cert "$PKI/client.pem" -key "$PKI/client.key" && echoed "$out" "with cert $v"; then
    pass "mTLS TLSv$v: with the CA-signed client certificate the line is echoed"
  else
    fail "mTLS TLSv$v: with -cert/-key the echo should work; got:"; show "$out"
  fi
done
out=$TMP/mtls-other
sclient "$PORT_mtls" "wrong cert" "$out" -servername localhost \
  -cert "$PKI/other.pem" -key "$PKI/other.key" || true
if ! echoed "$out" "wrong cert" && grep -q -i 'alert' "$out"; then
  pass "mTLS: a certificate without clientAuth usage is refused"
else
  fail "mTLS: a server-only certificate should not pass as a client certificate; got:"; show "$out"
fi

# ---- Python ----------------------------------------------------------------------
cat >"$TMP/client.py" <<'PY'
"""Python ssl clients for tls_interop.sh: python3 client.py CMD PORT [ARGS]."""
import os
import socket
import ssl
import struct
import sys
import time

CA = os.environ["CA"]
cmd, port = sys.argv[1], int(sys.argv[2])
ADDR = ("127.0.0.1", port)


def context(version=None, alpn=None):
    ctx = ssl.create_default_context(cafile=CA)
    if version:
        ctx.minimum_version = ctx.maximum_version = getattr(ssl.TLSVersion, version)
    if alpn:
        ctx.set_alpn_protocols(alpn)
    return ctx


def client_hello():
    """A real ClientHello (as Python would send it), captured with MemoryBIO."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = context().wrap_bio(incoming, outgoing, server_hostname="localhost")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()


def until_closed(sock, limit):
    """Reads until EOF or reset; seconds it took, or None if still open after limit."""
    start = time.monotonic()
    got = 0
    while True:
        left = limit - (time.monotonic() - start)
        if left <= 0:
            return None, got
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            return None, got
        except ConnectionResetError:
            return time.monotonic() - start, got
        if not chunk:
            return time.monotonic() - start, got
        got += len(chunk)


def closed_within(data, low, high, wait_reply=False):
    sock = socket.create_connection(ADDR, timeout=5)
    if data:
        sock.sendall(data)
    start = time.monotonic()
    if wait_reply:  # the server's first flight must come before we go silent
        sock.settimeout(5)
        if not sock.recv(65536):
            sys.exit("closed without answering the ClientHello")
    took, _ = until_closed(sock, high + 1 - (time.monotonic() - start))
    if took is not None:
        took = time.monotonic() - start
    sock.close()
    if took is None:
        sys.exit("still open after %.1f s" % (high + 1))
    if not low <= took <= high:
        sys.exit("closed after %.2f s, want %.1f..%.1f s" % (took, low, high))
    print("closed after %.2f s" % took)


if cmd == "roundtrip":  # roundtrip PORT VERSION ALPN,... WANT_ALPN
    version, offer, want = sys.argv[3], sys.argv[4].split(","), sys.argv[5]
    payload = os.urandom(1 << 20)
    with socket.create_connection(ADDR, timeout=20) as raw:
        with context(version, offer).wrap_socket(raw, server_hostname="localhost") as tls:
            tls.sendall(payload)
            got = bytearray()
            while len(got) < len(payload):
                chunk = tls.recv(1 << 20)
                if not chunk:
                    break
                got += chunk
            if bytes(got) != payload:
                sys.exit("echoed %d bytes, want the 1 MiB sent back" % len(got))
            if tls.version() != version.replace("_", "."):
                sys.exit("version %s" % tls.version())
            if tls.selected_alpn_protocol() != want:
                sys.exit("ALPN %r, want %r" % (tls.selected_alpn_protocol(), want))
            print("%s %s alpn=%s" % (tls.version(), tls.cipher()[0], tls.selected_alpn_protocol()))
elif cmd == "http":  # plaintext HTTP to the TLS port
    closed_within(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n", 0, 2)
elif cmd == "random":  # 4 KiB of noise
    with open("/dev/urandom", "rb") as f:
        closed_within(f.read(4096), 0, 2)
elif cmd == "silent":  # connects, sends nothing
    closed_within(b"", 0.4, 2.5)
elif cmd == "truncated":  # the first 50 bytes of a real ClientHello
    hello = client_hello()
    assert hello[0] == 0x16 and len(hello) > 50, hello[:8]
    closed_within(hello[:50], 0.4, 2.5)
elif cmd == "stall":  # a whole ClientHello, then never answers the server
    closed_within(client_hello(), 0.4, 2.5, wait_reply=True)
elif cmd == "reset":  # handshake, then half an application record and a RST
    raw = socket.create_connection(ADDR, timeout=5)
    tls = context("TLSv1_3").wrap_socket(raw, server_hostname="localhost")
    tls.sendall(b"ping\n")
    assert tls.recv(100) == b"ping\n"
    os.write(tls.fileno(), bytes.fromhex("1703034000") + b"partial record")
    time.sleep(0.1)
    tls.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    tls.close()
    print("reset sent")
elif cmd == "gone":  # sends 1 MiB, resets before the echo is read; 20 times
    for _ in range(20):
        raw = socket.create_connection(ADDR, timeout=5)
        tls = context("TLSv1_3").wrap_socket(raw, server_hostname="localhost")
        tls.sendall(b"x" * (1 << 20))
        tls.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        tls.close()
        time.sleep(0.05)
    print("20 resets sent")
else:
    sys.exit("unknown command " + cmd)
PY
py() { CA=$PKI/ca.pem timeout 60 "$PY" "$TMP/client.py" "$@" 2>&1; }

for v in TLSv1_3 TLSv1_2; do
  if out=$(py roundtrip "$PORT_main" "$v" "x-unknown,http/1.1" http/1.1); then
    pass "python ssl $v: 1 MiB echoed, verified for localhost against the CA ($out)"
  else
    fail "python ssl $v: $out"
  fi
done
if out=$(py roundtrip "$PORT_main" TLSv1_3 "h2,http/1.1" h2); then
  pass "python ssl: offering h2 and http/1.1 selects h2 ($out)"
else
  fail "python ssl ALPN h2,http/1.1: $out"
fi

# ---- bad input -------------------------------------------------------------------
# Each must be dropped without hurting anyone else: a good s_client echo and a
# live server after each.
# good_after WHAT [SERVER]: SERVER (default main) alive and echoing.
good_after() {
  local what=$1 name=${2:-main} out=$TMP/after-$N pid_var port_var
  pid_var=PID_$name port_var=PORT_$name
  if dead "$name"; then
    fail "after $what: $GONE"
  elif sclient "${!port_var}" "after $what" "$out" -servername localhost &&
    echoed "$out" "after $what"; then
    pass "after $what: server alive, a good client is echoed"
  else
    fail "after $what: server dead or a good client is not served; got:"; show "$out"
  fi
}
# bad WHAT CMD PORT: the Python client CMD against PORT, then main must serve.
bad() {
  local what=$1 out
  shift
  if out=$(py "$@"); then pass "$what: $out"; else fail "$what: $(tail -1 <<<"$out")"; fi
  [[ $2 != "$PORT_main" ]] || good_after "$what"
}
bad "plaintext HTTP to the TLS port is dropped within 2 s" http "$PORT_main"
bad "4 KiB of /dev/urandom is dropped within 2 s" random "$PORT_main"
bad "a silent client is dropped after tlsHandshakeTimeout (500 ms)" silent "$PORT_main"
bad "a truncated ClientHello (50 bytes) is dropped after tlsHandshakeTimeout" truncated "$PORT_main"
bad "a client that stalls after its ClientHello is dropped after tlsHandshakeTimeout" stall "$PORT_main"
bad "a client that resets mid-record" reset "$PORT_main"

fds=0
for _ in $(seq 30); do
  fds=$(ls "/proc/$PID_main/fd" 2>/dev/null | wc -l) || true
  ((fds <= FD_BASE)) && break
  sleep 0.1
done
if dead main; then
  fail "descriptors: $GONE"
elif ((fds == FD_BASE)); then
  pass "descriptors: back to $FD_BASE after the bad clients"
else
  fail "descriptors: $fds open in main after the bad clients, $FD_BASE after startup:"
  ls -l "/proc/$PID_main/fd" | sed 's/^/    /'
fi

# ---- curl ------------------------------------------------------------------------
# curl speaks HTTP and the echo sends its request back, which curl rejects;
# only the TLS part is checked. Against main with ALPN h2: curl speaks
# HTTP/2 and hangs up on the echoed preface while the server still writes.
for v in 1.3 1.2; do
  args=()
  [[ $v == 1.2 ]] && args=(--tlsv1.2 --tls-max 1.2)
  out=$TMP/curl-$v
  timeout 15 curl -v --cacert "$PKI/ca.pem" "${args[@]}" --max-time 3 \
    --resolve "localhost:$PORT_main:127.0.0.1" "https://localhost:$PORT_main/" >"$out" 2>&1 || true
  if grep -q "SSL connection using TLSv$v" "$out" && grep -q 'SSL certificate verify ok' "$out"; then
    pass "curl ${args[*]:-(defaults)}: TLSv$v handshake, certificate verified"
  else
    fail "curl ${args[*]:-(defaults)}: want 'SSL connection using TLSv$v' and 'SSL certificate verify ok'; got:"
    show "$out"
  fi
done
good_after "curl"

# ---- a peer that is gone while the server writes -----------------------------
# The echo of 1 MiB is still being written when the client resets: the
# write fails with EPIPE/ECONNRESET and must close only that connection.
start epipe "{ $CERT }"
out=$(py gone "$PORT_epipe") || true
sleep 0.2
if dead epipe; then
  fail "clients that send 1 MiB and reset without reading: $GONE"
elif [[ $out != "20 resets sent" ]]; then
  fail "clients that send 1 MiB and reset without reading: $(tail -1 <<<"$out")"
else
  pass "clients that send 1 MiB and reset without reading: $out"
  good_after "a write to a reset peer" epipe
fi

# ---- testssl.sh ------------------------------------------------------------------
# Sections: protocols (-p), standard cipher categories (-s), server defaults
# (-S) and the vulnerabilities (-U): 80-120 s on 2 cores, so none dropped
# (the whole default run, client simulation and all, takes far longer).
# --add-ca: our CA is not in testssl's stores (chain of trust is CRITICAL
# otherwise). No --severity: it drops OK findings from the JSON too, and the
# protocol results show the scan ran; the script filters instead.
if [[ -z $TESTSSL ]]; then
  echo "# skip - testssl.sh not installed (scripts/install-deps.sh installs it): no scan"
elif [[ -n ${WEFT_SKIP_TESTSSL:-} ]]; then
  # The sanitizer rebuilds run this script for its bad-input checks; the
  # scan judges configuration, which the plain build has already done.
  echo "# skip - WEFT_SKIP_TESTSSL is set (sanitizer build): no scan"
else
  start scan "{ $CERT, \"tlsNextProtos\": [\"h2\", \"http/1.1\"], \"sslOcspStaple\": \"$PKI/resp.der\" }"
  json=$TMP/testssl.json
  rm -f "$OUTDIR/testssl-summary.txt"
  t0=$SECONDS
  (cd "$TMP" && timeout 400 "$TESTSSL" --quiet --color 0 --warnings off --nodns none \
    --jsonfile-pretty "$json" --add-ca "$PKI/ca.pem" -p -s -S -U \
    --ip 127.0.0.1 "localhost:$PORT_scan" </dev/null >"$OUTDIR/testssl.log" 2>&1) || true
  took=$((SECONDS - t0))
  if out=$("$PY" - "$json" "$OUTDIR/testssl-summary.txt" <<'PY' 2>&1
import json, sys
order = ["OK", "INFO", "LOW", "MEDIUM", "HIGH", "CRITICAL"]
try:
    doc = json.load(open(sys.argv[1]))
except (OSError, ValueError) as e:
    sys.exit("no JSON output (%s)" % e)
findings = []
for target in doc.get("scanResult", []):
    for key, value in target.items():
        if isinstance(value, list):
            findings += [f for f in value if isinstance(f, dict) and "severity" in f]
if not any(f["id"] == "TLS1_3" for f in findings):
    sys.exit("the scan did not complete (no protocol results); see testssl.log")
# WARN: a check testssl.sh could not run (e.g. its TLS 1.3 ticket test, whose
# s_client often quits before the ticket arrives); listed, not failed.
summary = [f for f in findings if f["severity"] in order[2:] + ["WARN", "FATAL"]]
with open(sys.argv[2], "w") as out:
    for f in summary:
        out.write("%s %s %s\n" % (f["id"], f["severity"], f["finding"]))
bad = [f for f in summary if f["severity"] in ("HIGH", "CRITICAL", "FATAL")]
print("%d findings, %d at LOW or above, %d HIGH/CRITICAL" % (len(findings), len(summary), len(bad)))
sys.exit(1 if bad else 0)
PY
  ); then
    pass "testssl.sh -p -s -S -U in ${took}s: $out"
  else
    fail "testssl.sh -p -s -S -U in ${took}s: $out (log: $OUTDIR/testssl.log)"
  fi
  echo "# testssl.sh findings at LOW or above ($OUTDIR/testssl-summary.txt):"
  if [[ -s $OUTDIR/testssl-summary.txt ]]; then
    sed 's/^/#   /' "$OUTDIR/testssl-summary.txt"
  else
    echo "#   (none)"
  fi
  good_after "testssl.sh" scan
fi

# ---- all servers still up --------------------------------------------------------
for name in main twin notickets mtls epipe; do
  reported=${STATUS[$name]:-}
  if dead "$name" && [[ -z $reported ]]; then fail "$GONE"; fi
done

echo "# tls interop: $CHECKS checks, $FAILS failed, $((SECONDS - START)) s"
((FAILS == 0))
