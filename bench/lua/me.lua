-- POST { me { … } } with the bench user's access token; an answer counts as ok only when
-- its body is exactly BENCH_ME_BODY, so a fast wrong answer (null, UNAUTHENTICATED) cannot pass.
-- BENCH_STOP_AFTER (per thread, optional) ends the run after that many answers.
package.path = "bench/lua/?.lua;" .. package.path
local summary = require("summary")

local expected = os.getenv("BENCH_ME_BODY")
local count = summary.counted(tonumber(os.getenv("BENCH_STOP_AFTER") or "0"))
ok, bad = 0, 0

wrk.method = "POST"
wrk.path = "/graphql"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_ACCESS_TOKEN")
wrk.body = os.getenv("BENCH_ME_REQUEST")

function setup(thread)
  summary.setup(thread)
end

function response(status, headers, body)
  if status == 200 and body == expected then
    ok = ok + 1
  else
    bad = bad + 1
    summary.show_bad(status, body)
  end
  count()
end

done = summary.done
