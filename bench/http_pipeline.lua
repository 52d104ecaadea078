-- wrk script: N HTTP/1.1 GETs pipelined per connection (default 16), the
-- approach of wrk's own scripts/pipeline.lua:
--
--   wrk -t1 -c100 -d5s --latency -s bench/http_pipeline.lua http://127.0.0.1:8080/ -- 16
--
-- wrk parses the string `request` returns (script_verify_request), counts the
-- N requests in it, writes them with one write() and sends the next batch
-- only when all N responses have arrived. How wrk counts (wrk 4.1.0, wrk.c
-- response_complete): every parsed *response* is one "request" in its
-- "requests in" / "Requests/sec" output, so those are already per request,
-- not per batch (do not multiply by N); the latency histogram gets one sample
-- per *batch*, from its write to its last response.
init = function(args)
  local n = tonumber(args[1]) or 16
  local r = {}
  for i = 1, n do
    r[i] = wrk.format(nil, nil)  -- wrk.method and wrk.path: GET of the URL's path
  end
  req = table.concat(r)
end

request = function()
  return req
end
