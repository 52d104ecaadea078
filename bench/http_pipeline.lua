-- wrk script for bench/run_http.sh: N HTTP/1.1 GETs pipelined per connection
-- (the approach of wrk's own scripts/pipeline.lua), and the latency
-- percentiles of the samples wrk actually recorded.
--
--   WRK_CONNECTIONS=100 wrk -t1 -c100 -d5s --latency -s bench/http_pipeline.lua http://127.0.0.1:8080/ -- 16
--
-- With N > 1, wrk parses the string `request` returns (script_verify_request),
-- counts the N requests in it, writes them with one write() and sends the next
-- batch only when all N responses have arrived. With N = 1 (or no argument
-- "1") the script leaves wrk's static request alone: the load is exactly plain
-- `wrk` without a script.
--
-- How wrk 4.1.0 counts (wrk.c, response_complete): every parsed *response* is
-- one "request" in its "requests in" / "Requests/sec" output, so those are
-- requests, not batches (do not multiply by N). The latency histogram gets one
-- sample per *batch*: from its write to its last response.
--
-- wrk's --latency percentiles are "corrected" after the run (stats_correct,
-- coordinated omission): with the expected interval e = duration /
-- (responses / connections), every sample n >= 2e adds synthetic samples at
-- n - e, n - 2e, ... (> e). With pipelining e is N times too small (wrk counts
-- responses, the samples are batches), the synthetic samples swamp the real
-- ones and many land below the histogram's min, which wrk's percentile walk
-- starts from; its p99 then often prints as 0.00us. done() below undoes the
-- correction (exactly: it only ever added to lower buckets) and prints the
-- percentiles of the recorded samples as one line:
--   recorded_latency samples=.. p50_us=.. p90_us=.. p99_us=.. max_us=.. interval_us=..
-- It needs the connection count (not visible to scripts) in WRK_CONNECTIONS.

init = function(args)
  local n = tonumber(args[1]) or 16
  if n <= 1 then
    return
  end
  local r = {}
  for i = 1, n do
    r[i] = wrk.format(nil, nil)  -- GET of the URL's path, wrk's headers (Host)
  end
  req = table.concat(r)
  request = function()
    return req
  end
end

-- wrk's percentile rule (stats.c): the first value whose cumulative count
-- reaches round(p / 100 * count + 0.5). vals: ascending values, cnts: counts.
local function percentiles(vals, cnts, count, ps)
  local out, k, total = {}, 1, 0
  local rank = math.floor(ps[k] / 100 * count + 0.5 + 0.5)
  for j = 1, #vals do
    total = total + cnts[j]
    while k <= #ps and total >= rank do
      out[k] = vals[j]
      k = k + 1
      if k <= #ps then rank = math.floor(ps[k] / 100 * count + 0.5 + 0.5) end
    end
    if k > #ps then break end
  end
  return out
end

done = function(summary, latency, requests)
  local conns = tonumber(os.getenv("WRK_CONNECTIONS") or "")
  if not conns then
    io.write("recorded_latency unavailable (set WRK_CONNECTIONS)\n")
    return
  end
  local per_conn = math.floor(summary.requests / conns)
  local e = per_conn > 0 and math.floor(summary.duration / per_conn) or 0
  -- latency(i): value and count of the i-th non-empty bucket from latency.min
  -- up (corrected data). Invert stats_correct from the top down: for v > e,
  -- data[v] = orig[v] + sum_{k >= 1} orig[v + k e]; buckets below e are
  -- untouched; the synthetic samples below min (invisible here) had no
  -- recorded sample there, so orig is 0 there anyway.
  local n = #latency
  local vals, cnts = {}, {}
  for i = 1, n do
    vals[i], cnts[i] = latency(i)
  end
  local ovals, ocnts, count = {}, {}, 0
  local tail = {}  -- tail[v mod e] = sum of orig over the values above v in v's class
  for i = n, 1, -1 do
    local v, o = vals[i], cnts[i]
    if e > 0 and v > e then
      local slot = v % e
      o = o - (tail[slot] or 0)
      tail[slot] = (tail[slot] or 0) + o
    end
    if o ~= 0 then
      table.insert(ovals, 1, v)
      table.insert(ocnts, 1, o)
      count = count + o
    end
  end
  local p = percentiles(ovals, ocnts, count, {50, 90, 99})
  io.write(string.format(
    "recorded_latency samples=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d interval_us=%d\n",
    count, p[1] or -1, p[2] or -1, p[3] or -1, latency.max, e))
end
