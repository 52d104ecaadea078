// weft/http.hpp — the HTTP/1.1 server: App (routes), Request, Response.
#pragma once

#include "weft/http/app.hpp"
#include "weft/http/metrics.hpp"
#include "weft/http/request.hpp"
#include "weft/http/response.hpp"
#include "weft/http/sniff.hpp"
