-- GET a path drawn at random from the file BENCH_PATHS (one a line), with the
-- Authorization header BENCH_AUTH when it is set.
dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")
local paths = {}
for line in io.lines(os.getenv("BENCH_PATHS")) do
  paths[#paths + 1] = line
end
local headers = {}
if os.getenv("BENCH_AUTH") then
  headers["Authorization"] = os.getenv("BENCH_AUTH")
end

init = function(args)
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
end

request = function()
  return wrk.format("GET", paths[math.random(1, #paths)], headers)
end
