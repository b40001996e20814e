-- The public form: each request a new report, from its own client address (the
-- server trusts X-Forwarded-For from loopback, as behind a proxy), so the per-IP limit
-- counts for real without refusing the load. Addresses come from 198.18.0.0/15, the
-- range set aside for benchmarks; the path comes from BENCH_PATH.
dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")
local path = os.getenv("BENCH_PATH")
local words = {"printer", "laptop", "network", "screen", "login", "invoice", "vpn", "mouse"}

init = function(args)
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
end

request = function()
  local n = math.random(1, 1000000000)
  local ip = string.format("198.%d.%d.%d", math.random(18, 19), math.random(0, 255), math.random(1, 254))
  local word = words[math.random(1, #words)]
  local body = string.format(
    '{"title": "The %s on floor %d does not work", "description": "Since this morning the %s in room %d shows an error and nobody can use it. Please have a look.", "email": "reporter%d@example.com", "name": "Reporter %d"}',
    word, n % 12, word, n % 500, n, n)
  return wrk.format("POST", path, {["Content-Type"] = "application/json", ["X-Forwarded-For"] = ip}, body)
end
