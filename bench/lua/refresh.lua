-- refreshToken rotation chains: run with as many wrk threads as connections (-t N -c N), so
-- each thread has one connection, which sends a request only after the previous answer.
-- Thread i starts from line i of the file BENCH_REFRESH_TOKENS (one fresh session each)
-- and sends each answer's new refresh token as its next request: every request is a first
-- use of a live token, i.e. a real rotation. ok = AuthPayload answers carrying a new token.
package.path = "bench/lua/?.lua;" .. package.path
local summary = require("summary")

local tokens = {}
ok, bad = 0, 0
token = nil

function setup(thread)
  if #tokens == 0 then
    for line in io.lines(os.getenv("BENCH_REFRESH_TOKENS")) do
      table.insert(tokens, line)
    end
  end
  local index = summary.setup(thread)
  thread:set("token", tokens[index])
end

local template = '{"query":"mutation($t: String!) { refreshToken(input: {refreshToken: $t}) '
  .. '{ __typename ... on AuthPayload { accessToken refreshToken } } }","variables":{"t":"%s"}}'

function request()
  return wrk.format("POST", "/graphql", { ["Content-Type"] = "application/json" }, string.format(template, token))
end

function response(status, headers, body)
  local next_token = string.match(body, '"refreshToken":"([^"]+)"')
  if status == 200 and next_token and string.find(body, '"__typename":"AuthPayload"', 1, true) then
    ok = ok + 1
    token = next_token
  else
    bad = bad + 1
    summary.show_bad(status, body)
  end
end

done = summary.done
