// permessage-deflate (RFC 7692) from the client's side: the offer it sends
// and the check of the server's answer.
#pragma once

#include <string>
#include <string_view>

#include "ws/deflate.hpp"

namespace weft::ws::detail {

/// The Sec-WebSocket-Extensions value a client offers. server_* options are
/// asked of the server (server_no_context_takeover, server_max_window_bits
/// below 15); client_max_window_bits is always offered so the server may
/// limit our window.
std::string client_deflate_offer(const DeflateOptions& ours);

/// Checks the server's Sec-WebSocket-Extensions answer to that offer and
/// fills `params` (our own client_no_context_takeover / smaller window
/// applied on top). Returns why the answer is unacceptable, or null.
const char* accept_deflate_answer(std::string_view answer, const DeflateOptions& ours,
                                  DeflateParams& params);

}  // namespace weft::ws::detail
