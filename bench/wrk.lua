-- wrk script for `make bench`: each request picks a random line of $BENCH_REQUESTS (method, path,
-- body and optionally one header, separated by tabs) and a random token of $BENCH_TOKENS; prints one JSON summary line.
local tokens, reqs = {}, {}
for line in io.lines(os.getenv("BENCH_TOKENS")) do tokens[#tokens + 1] = line end
for line in io.lines(os.getenv("BENCH_REQUESTS")) do
  local m, p, rest = line:match("^([^\t]*)\t([^\t]*)\t?(.*)$")
  -- An optional fourth field: one extra header, "Name: value".
  local b, h = rest:match("^([^\t]*)\t(.*)$")
  if b == nil then b = rest end
  reqs[#reqs + 1] = { m, p, b, h }
end

function setup(thread)
  thread:set("seed", math.random(1, 1000000))
end

function init(args)
  math.randomseed(seed or os.time())
end

function request()
  local r = reqs[math.random(#reqs)]
  local headers = { ["Authorization"] = "Bearer " .. tokens[math.random(#tokens)] }
  if r[4] ~= nil then
    local name, value = r[4]:match("^([^:]+):%s*(.*)$")
    headers[name] = value
  end
  local body = nil
  if r[3] ~= nil and r[3] ~= "" then
    headers["Content-Type"] = "application/json"
    body = r[3]
  end
  return wrk.format(r[1], r[2], headers, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests": %d, "duration_us": %d, "errors": %d, "non2xx": %d, "p50_us": %d, "p99_us": %d}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(99)))
end
