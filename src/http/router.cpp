// Routes: literal segments, ":name" parameters and a final "*". Few routes
// per app, so a list scanned in order is fast enough and keeps "first match
// wins" obvious.
#include <algorithm>
#include <string>

#include "http/conn_state.hpp"
#include "weft/http/app.hpp"

namespace weft::http {

namespace {

// Splits "/a/b/c" into "a","b","c" (an empty path is one empty segment).
template <typename Fn>
void for_each_segment(std::string_view path, Fn fn) {
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  for (;;) {
    auto slash = path.find('/');
    if (!fn(path.substr(0, slash))) return;
    if (slash == std::string_view::npos) return;
    path.remove_prefix(slash + 1);
  }
}

bool matches(const std::vector<std::string>& segments, std::string_view path,
             std::vector<std::pair<std::string_view, std::string_view>>& params) {
  params.clear();
  std::size_t i = 0;
  bool ok = true;
  bool rest = false;
  std::string_view remaining = path;
  if (!remaining.empty() && remaining.front() == '/') remaining.remove_prefix(1);
  for_each_segment(path, [&](std::string_view seg) {
    if (i == segments.size()) {
      ok = false;
      return false;
    }
    const std::string& want = segments[i];
    if (want == "*") {
      params.emplace_back("*", remaining);
      rest = true;
      return false;
    }
    if (!want.empty() && want.front() == ':') {
      if (seg.empty()) {
        ok = false;
        return false;
      }
      params.emplace_back(std::string_view(want).substr(1), seg);
    } else if (want != seg) {
      ok = false;
      return false;
    }
    ++i;
    remaining.remove_prefix(std::min(remaining.size(), seg.size() + 1));
    return true;
  });
  if (rest) return true;
  if (!ok) return false;
  // "/files/*" also matches "/files/" and "/files".
  if (i + 1 == segments.size() && segments[i] == "*") {
    params.emplace_back("*", std::string_view());
    return true;
  }
  return i == segments.size();
}

}  // namespace

App& App::route(std::string_view method, std::string_view pattern, Route fn) {
  RouteEntry e;
  e.method = method;
  for_each_segment(pattern, [&](std::string_view seg) {
    e.segments.emplace_back(seg);
    return true;
  });
  e.fn = std::move(fn);
  routes_.push_back(std::move(e));
  return *this;
}

App& App::stream(std::string_view method, std::string_view pattern, Route fn) {
  route(method, pattern, std::move(fn));
  routes_.back().streaming = true;
  return *this;
}

const App::RouteEntry* App::match(
    std::string_view method, std::string_view path,
    std::vector<std::pair<std::string_view, std::string_view>>& params, std::string* allow) const {
  const RouteEntry* found = nullptr;
  for (const auto& r : routes_) {
    if (!matches(r.segments, path, params)) continue;
    // HEAD is served by GET routes (without the body).
    if (r.method == method || (method == "HEAD" && r.method == "GET")) {
      found = &r;
      break;
    }
    if (allow && allow->find(r.method) == std::string::npos) {
      if (!allow->empty()) allow->append(", ");
      allow->append(r.method);
    }
  }
  if (found) matches(found->segments, path, params);  // the params of the winner
  return found;
}

}  // namespace weft::http
