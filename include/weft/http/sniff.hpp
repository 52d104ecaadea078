// weft/http/sniff.hpp — does a connection start with an HTTP/1.x request?
// For weft::Sniffer (HTTP and another protocol on one port).
#pragma once

#include "weft/sniffer.hpp"

namespace weft::http {

/// yes when the first bytes begin with a known method and a space ("GET ",
/// "POST ", ...), more while they are a prefix of one, else no.
Match looks_like_http(Bytes first) noexcept;

}  // namespace weft::http
