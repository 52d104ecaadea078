// weft/weft.hpp — everything an application needs, in one include.
#pragma once

#include "weft/address.hpp"
#include "weft/bytes.hpp"
#include "weft/callbacks.hpp"
#include "weft/config.hpp"
#include "weft/conn.hpp"
#include "weft/datagram.hpp"
#include "weft/error.hpp"
#include "weft/handle.hpp"
#include "weft/handler.hpp"
#include "weft/log.hpp"
#include "weft/loop.hpp"
#include "weft/options.hpp"
#include "weft/server.hpp"
#include "weft/stats.hpp"
