// Request head parsing cost (Google Benchmark): a typical browser request
// of about 300 bytes, wrk's minimal request, and a chunked body decode.
//   build/bench/bench-http-parse [--benchmark_filter=...]
#include <benchmark/benchmark.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "http/request_parser.hpp"

namespace {

const std::string kBrowser =
    "GET /articles/2024/event-loops?ref=home&lang=en HTTP/1.1\r\n"
    "Host: www.example.com\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0\r\n"
    "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
    "Accept-Language: en-US,en;q=0.5\r\n"
    "Accept-Encoding: gzip, deflate, br\r\n"
    "Connection: keep-alive\r\n"
    "\r\n";

const std::string kWrk = "GET / HTTP/1.1\r\nHost: localhost:8080\r\n\r\n";

void parse_head(benchmark::State& state, const std::string& request) {
  const weft::http::HeadLimits limits;
  std::vector<weft::http::Header> slots(limits.max_headers);
  weft::http::RequestHead head;
  head.headers = slots.data();
  for (auto _ : state) {
    static_cast<void>(_);
    const auto r = weft::http::parse_request_head(request, head, limits);
    benchmark::DoNotOptimize(r);
    benchmark::DoNotOptimize(head);
    if (r.status != weft::http::ParseStatus::complete) state.SkipWithError("not complete");
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * request.size()));
  state.SetLabel(std::to_string(request.size()) + " bytes");
}

void BM_ParseBrowserRequest(benchmark::State& state) {
  parse_head(state, kBrowser);
}
BENCHMARK(BM_ParseBrowserRequest);

void BM_ParseWrkRequest(benchmark::State& state) {
  parse_head(state, kWrk);
}
BENCHMARK(BM_ParseWrkRequest);

void BM_DecodeChunked(benchmark::State& state) {
  std::string body;
  for (int i = 0; i < 16; ++i)
    body += "100;ext=x\r\n" + std::string(256, 'b') + "\r\n";
  body += "0\r\nTrailer: t\r\n\r\n";
  for (auto _ : state) {
    static_cast<void>(_);
    weft::http::ChunkedDecoder dec;
    std::string_view rest = body;
    for (;;) {
      const auto step = dec.feed(rest);
      benchmark::DoNotOptimize(step.data);
      rest.remove_prefix(step.consumed);
      if (step.status != weft::http::ChunkedDecoder::Status::more || step.consumed == 0) break;
    }
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * body.size()));
}
BENCHMARK(BM_DecodeChunked);

}  // namespace

BENCHMARK_MAIN();
