// ws_chromium_check.js — runs inside the httpws chat page (GET /chat) in
// headless Chromium: ws_chromium.py evaluates this function there through
// the DevTools protocol and asserts on what it returns,
// {ok, results: [{name, ok, detail}]}. Chromium's own WebSocket client
// does the work: ws:// or wss:// after the page's scheme, offering
// permessage-deflate as browsers do.
//   opts.other: the base URL ("wss://host:port") of the server's other
//               listener, for a chat client there too (or null).
async (opts) => {
  const results = [];
  const check = (name, ok, detail = "") => {
    results.push({name, ok: Boolean(ok), detail: String(detail)});
    return ok;
  };
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const within = (ms, what, promise) =>
    Promise.race([promise, sleep(ms).then(() => { throw new Error("timed out: " + what); })]);
  const until = (ms, what, test) =>
    within(ms, what, (async () => { while (!test()) await sleep(25); })());
  const base = (location.protocol === "https:" ? "wss://" : "ws://") + location.host;

  // A socket whose messages queue up until next() takes them, in order.
  function open(url) {
    return within(10000, "opening " + url, new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      ws.binaryType = "arraybuffer";
      const inbox = [], waiting = [];
      ws.onmessage = (ev) => (waiting.length ? waiting.shift()(ev.data) : inbox.push(ev.data));
      ws.next = (what) => within(15000, what + " on " + url, new Promise(
          (take) => (inbox.length ? take(inbox.shift()) : waiting.push(take))));
      ws.closed = new Promise((done) => ws.addEventListener("close", done));
      ws.onopen = () => resolve(ws);
      ws.onerror = () => reject(new Error("WebSocket error on " + url));
    }));
  }
  const describe = (m) => (typeof m === "string" ? "text of " + m.length + " chars"
                                                 : "binary of " + m.byteLength + " bytes");
  function same(got, want) {
    if (typeof got === "string" || typeof want === "string") return got === want;
    const x = new Uint8Array(got), y = new Uint8Array(want);
    if (x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
    return true;
  }
  function randomBytes(n) {  // incompressible; getRandomValues fills 64 KiB at most per call
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i += 65536) crypto.getRandomValues(b.subarray(i, Math.min(n, i + 65536)));
    return b;
  }
  let bigText = "";  // compressible, with non-ASCII UTF-8, over 100 KiB
  for (let i = 0; bigText.length < 100 * 1024; i++) bigText += "line " + i + ": héllo wörld ☃ 🌍\n";
  const pageLines = () => [...document.querySelectorAll("#log li")];
  const sockets = [];

  try {
    // The page itself: served as HTML, its script connected to /chat/ws.
    check("page: GET /chat served the chat page", document.title === "weft chat", document.title);
    await until(15000, "the page's own socket to open",
                () => document.getElementById("state").className === "open");
    const state = document.getElementById("state").textContent;
    check("page: its socket is open and compressed (permessage-deflate)",
          state.includes("compressed"), state);

    // /ws: echo of text and binary, small, empty and 100 KiB, then pipelined.
    const echo = await open(base + "/ws");
    sockets.push(echo);
    check("/ws: permessage-deflate negotiated", echo.extensions.includes("permessage-deflate"),
          echo.extensions);
    const messages = ["hello", "héllo wörld ☃ 🌍", "", new Uint8Array([0, 1, 2, 127, 128, 255]),
                      new Uint8Array(0), bigText, randomBytes(100 * 1024)];
    for (const m of messages) {
      echo.send(m);
      const got = await echo.next("the echo of " + describe(m));
      check("/ws echo: " + describe(m), same(got, m), "got " + describe(got));
    }
    const nth = (i) => (i % 2 ? "pipelined " + i : new Uint8Array([i, i + 1, i + 2]));
    for (let i = 0; i < 50; i++) echo.send(nth(i));
    let inOrder = 0;
    for (let i = 0; i < 50; i++) if (same(await echo.next("pipelined echo " + i), nth(i))) inOrder++;
    check("/ws echo: 50 pipelined text and binary messages back in order", inOrder === 50,
          inOrder + " of 50");

    // /chat/ws: two more chat clients beside the page's own.
    const a = await open(base + "/chat/ws"), b = await open(base + "/chat/ws");
    sockets.push(a, b);
    check("/chat/ws: permessage-deflate negotiated for both clients",
          a.extensions.includes("permessage-deflate") && b.extensions.includes("permessage-deflate"),
          a.extensions + " / " + b.extensions);
    const line = JSON.stringify({from: "test-a", name: "alice", text: "hi from a ☃"});
    a.send(line);
    check("chat: the sender gets its message back", same(await a.next("a's own copy"), line));
    check("chat: relayed to the other client", same(await b.next("a's line at b"), line));
    await until(10000, "the page to show a's line",
                () => pageLines().some((li) => li.textContent.includes("hi from a ☃")));
    check("chat: relayed to the page, which shows it", true);
    const blob = randomBytes(100 * 1024);
    b.send(blob);
    check("chat: 100 KiB binary relayed", same(await a.next("b's binary at a"), blob));
    check("chat: 100 KiB binary back to its sender", same(await b.next("b's own binary"), blob));
    a.send(bigText);
    check("chat: 100 KiB compressible text relayed", same(await b.next("a's big text at b"), bigText));
    check("chat: 100 KiB text back to its sender", same(await a.next("a's own big text"), bigText));

    // The page's form: its message reaches the others, and is shown as its
    // own, as text (the markup in it stays text).
    document.getElementById("name").value = "chromium";
    document.getElementById("text").value = "<b>typed</b> in the page";
    document.getElementById("send").click();
    const typed = await a.next("the page's message at a");
    await b.next("the page's message at b");
    let parsed = {};
    try { parsed = JSON.parse(typed); } catch (e) { /* checked below */ }
    check("chat: a message sent from the page's form reaches the others",
          parsed.name === "chromium" && parsed.text === "<b>typed</b> in the page", typed);
    await until(10000, "the page to show its own message", () => pageLines().some(
        (li) => li.classList.contains("mine") && li.textContent.includes("<b>typed</b>")));
    check("chat page: its own message shown as its own, as text",
          !document.querySelector("#log b"));

    // A chat client on the server's other listener (wss:// from an http page).
    if (opts.other) {
      const c = await open(opts.other + "/chat/ws");
      sockets.push(c);
      check(opts.other + "/chat/ws: permessage-deflate negotiated",
            c.extensions.includes("permessage-deflate"), c.extensions);
      const across = JSON.stringify({from: "test-c", name: "carol", text: "across listeners"});
      c.send(across);
      check("chat: relayed from " + opts.other + " to " + base,
            same(await a.next("c's line at a"), across) && same(await b.next("c's line at b"), across));
      check("chat: back to its sender on " + opts.other, same(await c.next("c's own line"), across));
    }

    // Clean closes.
    for (const s of sockets) s.close(1000, "done");
    const closes = await within(10000, "the closing handshakes", Promise.all(sockets.map((s) => s.closed)));
    check("close: every socket closed cleanly with 1000",
          closes.every((ev) => ev.wasClean && ev.code === 1000),
          closes.map((ev) => ev.code + (ev.wasClean ? "" : " unclean")).join(" "));
  } catch (e) {
    check("the checks ran to the end", false, e && e.message ? e.message : e);
    for (const s of sockets) s.close();
  }
  const ok = results.length > 0 && results.every((r) => r.ok);
  console.log("weft-chromium-verdict " + (ok ? "PASS" : "FAIL"));
  return {ok, results};
}
