-- Shared by the bench's wrk scripts: per-thread counters and a done() that prints one
-- JSON line (prefixed BENCH_JSON) for bench/wrk.py to parse. Latencies are microseconds.
local M = {}

local threads = {}

-- Runs in the main Lua state, once per wrk thread: remember it to read its counters in done().
function M.setup(thread)
  table.insert(threads, thread)
  local index = #threads
  thread:set("thread_index", index)
  return index
end

local function total(name)
  local sum = 0
  for _, thread in ipairs(threads) do
    sum = sum + (thread:get(name) or 0)
  end
  return sum
end

function M.done(summary, latency)
  local percentiles = {}
  for _, p in ipairs({ 50, 90, 99, 99.9 }) do
    table.insert(percentiles, string.format('"%s":%d', tostring(p), latency:percentile(p)))
  end
  local errors = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"ok":%d,"bad":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"mean":%.1f,"max":%d,"percentiles":{%s}}}\n',
    summary.requests, summary.duration, total("ok"), total("bad"),
    errors.connect, errors.read, errors.write, errors.status, errors.timeout,
    latency.mean, latency.max, table.concat(percentiles, ",")
  ))
end

-- Print (to stdout, prefixed BENCH_BAD) the first few answers a script did not accept.
local shown = 0
function M.show_bad(status, body)
  if shown < 3 then
    shown = shown + 1
    io.write(string.format("BENCH_BAD %d %s\n", status, string.sub(string.gsub(body or "", "\n", " "), 1, 300)))
  end
end

-- wrk.thread:stop() once this thread has had `limit` answers (limit 0: no limit).
function M.counted(limit)
  local answers = 0
  return function()
    answers = answers + 1
    if limit > 0 and answers == limit then
      wrk.thread:stop()
      -- wrk's main thread sleeps out --duration even when every thread has stopped:
      -- bench/wrk.py sends it SIGINT on reading this line, which ends the run at once.
      io.write("BENCH_STOPPED\n")
      io.stdout:flush()
    end
  end
end

return M
