// chat_page.hpp — the browser side of the httpws chat: one self-contained
// page (HTML, CSS and JS, nothing loaded from elsewhere) served at GET /chat.
// It connects to /chat/ws on the host it came from (wss:// when the page
// came over https), shows the connection state, keeps the name in
// localStorage, reconnects with backoff, and renders every message with
// textContent (never as HTML), and names an empty data: icon so that the
// browser does not ask for /favicon.ico. Messages are JSON text
// {"from": random id of this tab, "name": ..., "text": ...}; the server
// relays them without looking inside, and sends each back to its sender,
// which is how a tab knows a message of its own was delivered.
#pragma once

#include <string_view>

namespace httpws {

inline constexpr std::string_view kChatPage = R"html(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>weft chat</title>
<link rel="icon" href="data:,">
<style>
  :root { --bg: #f4f5f8; --panel: #fff; --ink: #1c2230; --muted: #6b7385; --line: #e1e4ea;
          --accent: #2f6fed; --mine: #e4edff; --ok-bg: #d9f5e3; --ok: #17663a;
          --bad-bg: #fde2e1; --bad: #9b1c1c; }
  @media (prefers-color-scheme: dark) {
    :root { --bg: #13161b; --panel: #1b1f26; --ink: #e5e8ee; --muted: #8c95a7; --line: #2a303a;
            --accent: #5b8dff; --mine: #233250; --ok-bg: #17382a; --ok: #7be0a6;
            --bad-bg: #432022; --bad: #ff9d9d; }
  }
  * { box-sizing: border-box; }
  body { margin: 0; font: 15px/1.45 system-ui, sans-serif; background: var(--bg); color: var(--ink); }
  main { max-width: 720px; height: 100vh; margin: 0 auto; padding: 12px;
         display: flex; flex-direction: column; gap: 10px; }
  header { display: flex; align-items: center; gap: 10px; }
  h1 { flex: 1; margin: 0; font-size: 18px; }
  #state { font-size: 12px; padding: 3px 10px; border-radius: 999px; background: var(--line); color: var(--muted); }
  #state.open { background: var(--ok-bg); color: var(--ok); }
  #state.closed { background: var(--bad-bg); color: var(--bad); }
  #log { flex: 1; overflow-y: auto; list-style: none; margin: 0; padding: 10px;
         background: var(--panel); border: 1px solid var(--line); border-radius: 10px; }
  #log li { width: fit-content; max-width: 85%; margin: 6px 0; padding: 6px 10px; border-radius: 8px;
            background: var(--bg); white-space: pre-wrap; overflow-wrap: anywhere; }
  #log li.mine { margin-left: auto; background: var(--mine); }
  #log li.note { background: none; color: var(--muted); font-size: 12px; padding: 0 4px; }
  .who { font-weight: 600; margin-right: 6px; }
  .at { color: var(--muted); font-size: 11px; margin-left: 8px; }
  form { display: flex; gap: 8px; }
  input { font: inherit; padding: 8px 10px; border: 1px solid var(--line); border-radius: 8px;
          background: var(--panel); color: inherit; min-width: 0; }
  #name { width: 9em; }
  #text { flex: 1; }
  button { font: inherit; padding: 8px 16px; border: 0; border-radius: 8px; background: var(--accent);
           color: #fff; cursor: pointer; }
  button:disabled { opacity: .5; cursor: default; }
</style>
</head>
<body>
<main>
  <header><h1>weft chat</h1><span id="state">connecting&hellip;</span></header>
  <ul id="log" aria-live="polite"></ul>
  <form id="compose" autocomplete="off">
    <input id="name" maxlength="32" placeholder="your name" aria-label="your name">
    <input id="text" maxlength="4000" placeholder="say something" aria-label="message">
    <button id="send" disabled>Send</button>
  </form>
</main>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/chat/ws";
const me = Math.random().toString(36).slice(2, 10);  // marks this tab's messages when they come back
let ws = null, retryMs = 500;

function remember(key, value) {
  try { if (value === undefined) return localStorage.getItem(key); localStorage.setItem(key, value); }
  catch (e) { return null; }  // storage may be off: the name just is not kept
}
$("name").value = remember("weft-chat-name") || "guest-" + me.slice(0, 4);
$("name").addEventListener("change", () => remember("weft-chat-name", $("name").value.trim()));

function add(kind, who, text) {
  const log = $("log"), li = document.createElement("li");
  const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
  li.className = kind;
  if (who !== null) {
    const b = document.createElement("span");
    b.className = "who";
    b.textContent = who;
    li.append(b);
  }
  li.append(document.createTextNode(text));
  const at = document.createElement("span");
  at.className = "at";
  at.textContent = new Date().toLocaleTimeString([], {hour: "2-digit", minute: "2-digit"});
  li.append(at);
  log.append(li);
  while (log.children.length > 500) log.firstElementChild.remove();
  if (atBottom || kind === "mine") log.scrollTop = log.scrollHeight;
}

function setState(text, kind) {
  $("state").textContent = text;
  $("state").className = kind;
  $("send").disabled = kind !== "open";
}

function onMessage(ev) {
  if (typeof ev.data !== "string") {
    add("note", null, "a binary message of " + ev.data.byteLength + " bytes");
    return;
  }
  let m = null;
  try { m = JSON.parse(ev.data); } catch (e) { /* not ours: shown as it is */ }
  if (m && typeof m === "object" && typeof m.text === "string")
    add(m.from === me ? "mine" : "", String(m.name || "anonymous").slice(0, 32), m.text);
  else
    add("", "anonymous", ev.data);
}

function connect() {
  setState("connecting\u2026", "");
  let opened = false;
  ws = new WebSocket(url);
  ws.binaryType = "arraybuffer";
  ws.onopen = () => {
    opened = true;
    retryMs = 500;
    const deflate = ws.extensions.includes("permessage-deflate");
    setState(deflate ? "connected \u00b7 compressed" : "connected", "open");
    add("note", null, "connected to " + url + (deflate ? " (permessage-deflate)" : ""));
  };
  ws.onmessage = onMessage;
  ws.onclose = (ev) => {
    setState("disconnected", "closed");
    if (opened) add("note", null, "disconnected (code " + ev.code + "), reconnecting");
    setTimeout(connect, retryMs);
    retryMs = Math.min(retryMs * 2, 10000);
  };
}

$("compose").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const text = $("text").value.trim();
  if (!text || !ws || ws.readyState !== WebSocket.OPEN) return;
  ws.send(JSON.stringify({from: me, name: $("name").value.trim() || "anonymous", text}));
  $("text").value = "";
  $("text").focus();
});
connect();
</script>
</body>
</html>
)html";

}  // namespace httpws
