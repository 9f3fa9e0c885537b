-- POST login(email, password) for the bench user; ok = an AuthPayload answer.
package.path = "bench/lua/?.lua;" .. package.path
local summary = require("summary")

ok, bad = 0, 0

wrk.method = "POST"
wrk.path = "/graphql"
wrk.headers["Content-Type"] = "application/json"
wrk.body = os.getenv("BENCH_LOGIN_REQUEST")

function setup(thread)
  summary.setup(thread)
end

function response(status, headers, body)
  if status == 200 and string.find(body, '"__typename":"AuthPayload"', 1, true) then
    ok = ok + 1
  else
    bad = bad + 1
    summary.show_bad(status, body)
  end
end

done = summary.done
