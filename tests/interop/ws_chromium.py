#!/usr/bin/python3
"""Drives headless Chromium through the DevTools protocol for ws_chromium.sh.

  ws_chromium.py --chromium PATH --profile DIR --check ws_chromium_check.js \
      --page URL OTHER [--page URL OTHER ...]

Starts Chromium (its own process group, a throwaway profile, a DevTools port
the kernel picks), opens each page URL in a fresh tab, runs the check
function there with {other: OTHER} ("-" for none) and prints one line per
result ("ok - ..." or "FAIL - ..."), plus what the page logged as an error.
Exit status 0 when every check passed. Chromium is stopped on every exit
path; its process group id is in PROFILE/../chromium.pgid meanwhile, for the
calling script to kill should this process itself be killed.

Needs Debian's python3-websockets (run it with /usr/bin/python3).
"""
import argparse
import asyncio
import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import websockets


class CdpError(Exception):
    pass


class Cdp:
    """A DevTools connection: calls with replies, events per session."""

    def __init__(self, ws):
        self.ws = ws
        self.last_id = 0
        self.pending = {}
        self.notes = []  # page errors and console errors, as text
        self.reader = asyncio.ensure_future(self.read())

    async def read(self):
        async for raw in self.ws:
            msg = json.loads(raw)
            if "id" in msg:
                fut = self.pending.pop(msg["id"], None)
                if fut and not fut.done():
                    fut.set_result(msg)
            else:
                self.event(msg.get("method", ""), msg.get("params", {}))

    def event(self, method, params):
        if method == "Runtime.exceptionThrown":
            d = params.get("exceptionDetails", {})
            text = d.get("exception", {}).get("description") or d.get("text", "")
            self.notes.append("uncaught exception: " + text)
        elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
            args = [a.get("value", a.get("description", "")) for a in params.get("args", [])]
            self.notes.append("console.error: " + " ".join(map(str, args)))
        elif method == "Log.entryAdded":
            e = params.get("entry", {})
            if e.get("level") == "error":
                self.notes.append("log: " + e.get("text", ""))

    async def call(self, method, params=None, session=None, timeout=30):
        self.last_id += 1
        msg = {"id": self.last_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        fut = asyncio.get_running_loop().create_future()
        self.pending[self.last_id] = fut
        await self.ws.send(json.dumps(msg))
        reply = await asyncio.wait_for(fut, timeout)
        if "error" in reply:
            raise CdpError(f"{method}: {reply['error'].get('message')}")
        return reply.get("result", {})


def start_chromium(args):
    profile = pathlib.Path(args.profile)
    profile.mkdir(parents=True, exist_ok=True)
    cmd = [
        args.chromium, "--headless", "--no-sandbox", "--disable-gpu",
        "--disable-dev-shm-usage", "--ignore-certificate-errors",
        f"--user-data-dir={profile}", "--remote-debugging-port=0",
        "--remote-debugging-address=127.0.0.1", "--no-first-run",
        "--no-default-browser-check", "--disable-extensions", "--disable-sync",
        "--disable-background-networking", "--disable-component-update",
        "--mute-audio", "about:blank",
    ]
    log = open(profile.parent / "chromium.log", "wb")
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                            start_new_session=True)
    (profile.parent / "chromium.pgid").write_text(str(proc.pid))
    return proc


def stop_chromium(proc, profile):
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(wait)
        except subprocess.TimeoutExpired:
            continue
        # The browser is gone; its helpers (zygote, renderers) share the group.
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        break
    (pathlib.Path(profile).parent / "chromium.pgid").unlink(missing_ok=True)


def devtools_url(proc, profile, deadline):
    port_file = pathlib.Path(profile) / "DevToolsActivePort"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise CdpError(f"chromium exited with status {proc.returncode} (see chromium.log)")
        lines = port_file.read_text().split("\n") if port_file.exists() else []
        if len(lines) >= 2 and lines[0].strip() and lines[1].strip():
            return f"ws://127.0.0.1:{lines[0].strip()}{lines[1].strip()}"
        time.sleep(0.1)
    raise CdpError("chromium did not open its DevTools port in time")


async def check_page(cdp, url, other, check_js):
    """Opens url in a new tab and runs the check there; returns (ok, lines)."""
    target = (await cdp.call("Target.createTarget", {"url": "about:blank"}))["targetId"]
    session = (await cdp.call("Target.attachToTarget",
                              {"targetId": target, "flatten": True}))["sessionId"]
    cdp.notes.clear()
    try:
        for domain in ("Runtime", "Log", "Page"):
            await cdp.call(f"{domain}.enable", session=session)
        nav = await cdp.call("Page.navigate", {"url": url}, session=session)
        if nav.get("errorText"):
            return False, [f"FAIL - {url}: navigation failed: {nav['errorText']}"]
        ready = "document.readyState === 'complete'"
        for _ in range(300):
            r = await cdp.call("Runtime.evaluate", {"expression": ready, "returnByValue": True},
                               session=session)
            if r.get("result", {}).get("value") is True:
                break
            await asyncio.sleep(0.05)
        opts = {"other": None if other == "-" else other}
        r = await cdp.call("Runtime.evaluate", {
            "expression": f"({check_js})({json.dumps(opts)})",
            "awaitPromise": True, "returnByValue": True,
        }, session=session, timeout=150)
        if "exceptionDetails" in r:
            d = r["exceptionDetails"]
            text = d.get("exception", {}).get("description") or d.get("text", "")
            return False, [f"FAIL - {url}: the check threw: {text}"]
        verdict = r.get("result", {}).get("value") or {}
        lines = []
        for res in verdict.get("results", []):
            detail = f" ({res['detail']})" if res.get("detail") else ""
            lines.append(f"{'ok' if res['ok'] else 'FAIL'} - {url}: {res['name']}{detail}")
        ok = bool(verdict.get("ok"))
        if not lines:
            lines.append(f"FAIL - {url}: the check returned no results")
        # Errors the page logged: failures when the checks passed regardless.
        for note in cdp.notes:
            lines.append(f"FAIL - {url}: page error: {note}")
            ok = False
        return ok, lines
    finally:
        await cdp.call("Target.closeTarget", {"targetId": target})


async def run(args, proc):
    url = devtools_url(proc, args.profile, time.monotonic() + 60)
    check_js = pathlib.Path(args.check).read_text()
    async with websockets.connect(url, max_size=None, open_timeout=30) as ws:
        cdp = Cdp(ws)
        all_ok = True
        for page, other in args.page:
            started = time.monotonic()
            ok, lines = await check_page(cdp, page, other, check_js)
            print("\n".join(lines))
            print(f"# {page}: {'passed' if ok else 'FAILED'} in {time.monotonic() - started:.1f} s",
                  flush=True)
            all_ok = all_ok and ok
        try:
            await cdp.call("Browser.close", timeout=5)
        except (CdpError, asyncio.TimeoutError, websockets.ConnectionClosed):
            pass  # stop_chromium ends it anyway
        cdp.reader.cancel()
        return all_ok


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--chromium", required=True)
    p.add_argument("--profile", required=True, help="a fresh directory for --user-data-dir")
    p.add_argument("--check", required=True, help="ws_chromium_check.js")
    p.add_argument("--page", nargs=2, action="append", required=True, metavar=("URL", "OTHER"))
    args = p.parse_args()
    # timeout(1) and ctest stop us with SIGTERM: unwind so Chromium is stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    proc = start_chromium(args)
    try:
        ok = asyncio.run(run(args, proc))
    except (CdpError, OSError, asyncio.TimeoutError, websockets.WebSocketException) as e:
        print(f"FAIL - driving chromium: {type(e).__name__}: {e}")
        ok = False
    finally:
        stop_chromium(proc, args.profile)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
