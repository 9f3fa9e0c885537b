-- The peer's POST /auth/jwt/login (fastapi-users: an OAuth2 password form) for its user;
-- ok = a 200 answer that carries an access_token.
package.path = "bench/lua/?.lua;" .. package.path
local summary = require("summary")

ok, bad = 0, 0

wrk.method = "POST"
wrk.path = "/auth/jwt/login"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = os.getenv("BENCH_PEER_LOGIN_FORM")

function setup(thread)
  summary.setup(thread)
end

function response(status, headers, body)
  if status == 200 and string.find(body, '"access_token":"', 1, true) then
    ok = ok + 1
  else
    bad = bad + 1
    summary.show_bad(status, body)
  end
end

done = summary.done
