// weft/ws.hpp — WebSocket (RFC 6455) with permessage-deflate (RFC 7692):
// routes added to an http::App with App::ws(path, Behavior).
//
//   weft::http::App app;
//   app.ws("/", {.on_message = [](auto& ws, std::string_view msg, weft::ws::Opcode op) {
//     ws.send(msg, op);
//   }});
//   return weft::serve(app, cfg);
#pragma once

#include "weft/http/app.hpp"
#include "weft/ws/behavior.hpp"
#include "weft/ws/client.hpp"
#include "weft/ws/topics.hpp"
#include "weft/ws/websocket.hpp"
