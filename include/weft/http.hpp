// weft/http.hpp — HTTP/1.1: the server (App, Request, Response) and the
// client (fetch, Client).
#pragma once

#include "weft/http/app.hpp"
#include "weft/http/client.hpp"
#include "weft/http/header.hpp"
#include "weft/http/metrics.hpp"
#include "weft/http/request.hpp"
#include "weft/http/response.hpp"
#include "weft/http/sniff.hpp"
