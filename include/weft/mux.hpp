// weft/mux.hpp — stream multiplexing wire-compatible with Go's xtaci/smux
// (versions 1 and 2), with optional gmux stream names.
#pragma once

#include "weft/mux/blocking.hpp"
#include "weft/mux/config.hpp"
#include "weft/mux/endpoint.hpp"
#include "weft/mux/errors.hpp"
#include "weft/mux/frame.hpp"
#include "weft/mux/session.hpp"
#include "weft/mux/stream.hpp"
#include "weft/mux/transport.hpp"
