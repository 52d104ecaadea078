#!/usr/bin/env bash
# ktlscheck.sh KTLSCHECK_BINARY — runs the kTLS diagnostic the ways an
# operator would and checks its answers agree with each other: the plain
# report, --json (valid JSON, all fields), --require (exit 1 exactly when
# the kernel has no tls ULP / offload did not engage) and a short --bench.
set -euo pipefail

BIN=${1:?usage: ktlscheck.sh KTLSCHECK_BINARY}
[[ -x $BIN ]] || { echo "FAIL: $BIN not built" >&2; exit 1; }
PY=/usr/bin/python3
[[ -x $PY ]] || { echo "FAIL: $PY not installed" >&2; exit 1; }

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
FAILS=0
fail() { echo "FAIL: $*" >&2; FAILS=$((FAILS + 1)); }
pass() { echo "ok   $*"; }

# run NAME ARGS...: runs the tool, output in $TMP/NAME.{out,err}, sets RC.
run() {
  local name=$1
  shift
  RC=0
  "$BIN" "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" || RC=$?
}

# --- plain report ---------------------------------------------------------
run plain
if [[ $RC -eq 0 ]]; then pass "plain run exits 0"; else fail "plain run exit $RC"; cat "$TMP/plain.out" "$TMP/plain.err" >&2; fi
grep -q '^kTLS: ' "$TMP/plain.out" && pass "plain run prints a kTLS verdict" || fail "no 'kTLS:' verdict line"
grep -Eq '^kTLS: (NOT available|NOT engaged|available)' "$TMP/plain.out" \
  && pass "verdict names the state" || fail "verdict does not name the state"
grep -q 'TCP_ULP "tls"' "$TMP/plain.out" && pass "plain run reports the ULP probe" || fail "no ULP probe line"
grep -q 'loopback handshakes' "$TMP/plain.out" && pass "plain run lists handshakes" || fail "no handshake table"
if grep -q 'HANDSHAKE FAILED' "$TMP/plain.out"; then fail "a loopback handshake failed"; fi

# --- JSON -----------------------------------------------------------------
run json --json
[[ $RC -eq 0 ]] && pass "--json exits 0" || fail "--json exit $RC"
if ! "$PY" - "$TMP/json.out" >"$TMP/json.check" 2>&1 <<'EOF'; then
import json, sys
with open(sys.argv[1]) as f:
    j = json.load(f)
for key, kind in [("kernel_tls_ulp", bool), ("ulp_errno", int), ("openssl_ktls", bool),
                  ("kernel_release", str), ("openssl_version", str), ("reason", str),
                  ("offload_engaged", bool), ("verdict", str), ("combinations", list)]:
    assert key in j, f"missing {key}"
    assert isinstance(j[key], kind), f"{key} is not {kind.__name__}"
combos = j["combinations"]
assert len(combos) == 6, f"{len(combos)} combinations"
seen = set()
for c in combos:
    for key in ("version", "cipher", "suite", "kernel_cipher", "offloadable", "handshake",
                "server", "client"):
        assert key in c, f"combination missing {key}"
    assert c["handshake"], f"handshake failed: {c}"
    for side in (c["server"], c["client"]):
        assert {"tx", "rx", "reason"} <= side.keys(), side
        if not j["kernel_tls_ulp"]:
            assert not side["tx"] and not side["rx"], c
            assert side["reason"] == "no_kernel_tls", c
    assert c["offloadable"] == (c["kernel_cipher"] and j["kernel_tls_ulp"]), c
    seen.add((c["version"], c["cipher"]))
assert len(seen) == 6, seen
if j["kernel_tls_ulp"]:
    assert j["ulp_errno"] == 0, j["ulp_errno"]
else:
    assert j["ulp_errno"] != 0 and j["reason"], "missing ULP must give an errno and a reason"
print("ULP" if j["kernel_tls_ulp"] else "NOULP", "ENGAGED" if j["offload_engaged"] else "NOTENGAGED")
EOF
  fail "--json output invalid: $(cat "$TMP/json.check")"
  STATE="unknown"
else
  pass "--json is valid and complete ($(cat "$TMP/json.check"))"
  STATE=$(cat "$TMP/json.check")
fi

# The plain verdict must agree with the probe.
case $STATE in
  NOULP*)
    grep -q '^kTLS: NOT available' "$TMP/plain.out" && pass "no ULP: plain says NOT available" \
      || fail "no ULP but plain verdict is: $(grep '^kTLS:' "$TMP/plain.out")"
    grep -q 'userspace (ktlsPolicy auto)' "$TMP/plain.out" && pass "no ULP: fallback explained" \
      || fail "no ULP: fallback not explained"
    ;;
  "ULP ENGAGED")
    grep -q '^kTLS: available' "$TMP/plain.out" && pass "ULP: plain says available" \
      || fail "offload engaged but plain verdict is: $(grep '^kTLS:' "$TMP/plain.out")"
    ;;
esac

# --- --require ------------------------------------------------------------
run require --require
case $STATE in
  *NOTENGAGED)
    [[ $RC -eq 1 ]] && pass "--require exits 1 without offload" || fail "--require exit $RC, want 1" ;;
  *ENGAGED)
    [[ $RC -eq 0 ]] && pass "--require exits 0 with offload" || fail "--require exit $RC, want 0" ;;
  *) fail "--require not checked: state unknown" ;;
esac

# --- usage ----------------------------------------------------------------
run usage --no-such-flag
[[ $RC -eq 2 ]] && pass "unknown flag exits 2" || fail "unknown flag exit $RC, want 2"
run usage2 --bench-bytes
[[ $RC -eq 2 ]] && pass "--bench-bytes without a size exits 2" || fail "--bench-bytes exit $RC"
run help --help
[[ $RC -eq 0 ]] && grep -q -- '--require' "$TMP/help.out" && pass "--help" || fail "--help exit $RC"

# --- a short bench --------------------------------------------------------
start=$(date +%s)
run bench --bench-bytes 8M
elapsed=$(($(date +%s) - start))
[[ $RC -eq 0 ]] && pass "--bench-bytes 8M exits 0" || { fail "--bench exit $RC"; cat "$TMP/bench.err" >&2; }
grep -Eq 'userspace TLS +[0-9.]+ MB/s' "$TMP/bench.out" && pass "bench prints userspace MB/s" \
  || fail "bench printed no userspace MB/s"
case $STATE in
  NOULP*)
    grep -q 'offload could not be measured' "$TMP/bench.out" && pass "bench: offload not measurable" \
      || fail "bench does not say offload could not be measured" ;;
  "ULP ENGAGED")
    grep -Eq 'kTLS +[0-9.]+ MB/s' "$TMP/bench.out" && pass "bench prints kTLS MB/s" \
      || fail "bench printed no kTLS MB/s" ;;
esac
((elapsed < 10)) && pass "bench took ${elapsed}s" || fail "bench took ${elapsed}s (>= 10)"

run benchjson --json --bench-bytes 1M
"$PY" -c 'import json,sys; b=json.load(open(sys.argv[1]))["bench"]; assert b["bytes"]==1<<20 and b["userspace_mbps"]>0, b' \
  "$TMP/benchjson.out" && pass "--json --bench has a bench object" || fail "--json --bench output"

echo "--- ktlscheck output ---"
cat "$TMP/plain.out"
if ((FAILS > 0)); then
  echo "$FAILS check(s) failed" >&2
  exit 1
fi
echo "all ktlscheck checks passed"
