"""python3-websockets against the websocket example (tests/interop/ws_interop.sh).

usage: ws_client.py URL MODE [CAFILE]
MODE: deflate | plain (client compression off) | nodeflate-server |
      limit (server runs with --max-message 1000) | many
Prints one line per check; exits non-zero on the first failure.
"""
import asyncio
import os
import ssl
import sys

import websockets

URL, MODE = sys.argv[1], sys.argv[2]
CAFILE = sys.argv[3] if len(sys.argv) > 3 else None


def ssl_ctx():
    if not URL.startswith("wss://"):
        return None
    ctx = ssl.create_default_context(cafile=CAFILE)
    return ctx


def fail(msg):
    print("FAIL " + msg)
    sys.exit(1)


async def echo_checks(compression):
    async with websockets.connect(URL, compression=compression, max_size=None,
                                  ssl=ssl_ctx(), open_timeout=10) as ws:
        ext = ws.response_headers.get("Sec-WebSocket-Extensions", "")
        if compression and MODE != "nodeflate-server":
            if "permessage-deflate" not in ext:
                fail("permessage-deflate not agreed: %r" % ext)
            print("ok negotiated: " + ext)
        elif ext:
            fail("an extension was agreed without being offered/allowed: %r" % ext)
        else:
            print("ok no extension")
        for size in (0, 1, 125, 126, 127, 65535, 65536, 100000, 1 << 20, 5 << 20):
            data = os.urandom(size)
            await ws.send(data)
            back = await asyncio.wait_for(ws.recv(), 30)
            if back != data:
                fail("binary echo of %d bytes differs" % size)
        text = "κόσμε " * 20000 + "end"
        await ws.send(text)
        if await asyncio.wait_for(ws.recv(), 30) != text:
            fail("text echo differs")
        # Compressible text, many times (context takeover if agreed).
        for i in range(200):
            msg = "message number %d, " % i + "the same words again " * 20
            await ws.send(msg)
            if await asyncio.wait_for(ws.recv(), 10) != msg:
                fail("repeated text %d differs" % i)
        # A fragmented message (websockets sends an iterable as fragments).
        await ws.send(["frag", "men", "ted ", "κόσμε"])
        back = await asyncio.wait_for(ws.recv(), 10)
        if back != "fragmented κόσμε":
            fail("fragmented echo: %r" % back)
        pong = await ws.ping(b"are you there")
        await asyncio.wait_for(pong, 10)
        print("ok echo: binary 0..5 MiB, UTF-8 text, 200 repeated texts, fragments, ping/pong")
        await ws.close(code=1000, reason="done")
        if ws.close_code != 1000:
            fail("close code %r" % ws.close_code)
        print("ok close: 1000 echoed")


async def limit_checks():
    async with websockets.connect(URL, compression=None, ssl=ssl_ctx()) as ws:
        await ws.send(b"x" * 1000)
        if len(await asyncio.wait_for(ws.recv(), 10)) != 1000:
            fail("1000 bytes (the limit) not echoed")
        await ws.send(b"x" * 1001)
        try:
            await asyncio.wait_for(ws.recv(), 10)
            fail("1001 bytes were echoed past --max-message 1000")
        except websockets.exceptions.ConnectionClosed as e:
            code = e.rcvd.code if e.rcvd else None
            if code != 1009:
                fail("closed with %r, want 1009" % code)
    print("ok --max-message 1000: 1000 bytes echoed, 1001 closed with 1009")


async def many_checks(n=200):
    async def one(i):
        async with websockets.connect(URL, ssl=ssl_ctx(), open_timeout=20) as ws:
            for j in range(10):
                msg = "client %d message %d" % (i, j)
                await ws.send(msg)
                if await asyncio.wait_for(ws.recv(), 20) != msg:
                    fail("client %d message %d differs" % (i, j))
    await asyncio.gather(*(one(i) for i in range(n)))
    print("ok %d concurrent clients, 10 messages each" % n)


async def main():
    if MODE == "deflate":
        await echo_checks("deflate")
    elif MODE == "plain":
        await echo_checks(None)
    elif MODE == "nodeflate-server":
        await echo_checks("deflate")
    elif MODE == "limit":
        await limit_checks()
    elif MODE == "many":
        await many_checks()
    else:
        fail("unknown mode " + MODE)


asyncio.run(main())
