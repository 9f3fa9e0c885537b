-- The peer's GET /users/me (fastapi-users) with its user's bearer token; an answer counts as ok
-- only when its body is exactly BENCH_PEER_ME_BODY, the user's JSON as the peer answered it once.
package.path = "bench/lua/?.lua;" .. package.path
local summary = require("summary")

local expected = os.getenv("BENCH_PEER_ME_BODY")
ok, bad = 0, 0

wrk.method = "GET"
wrk.path = "/users/me"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_PEER_ACCESS_TOKEN")

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
end

done = summary.done
