-- wrk script: durable creates, PUT /api-sys/account/{id}/number with a
-- unique number on every request.
--
--   wrk -t2 -c64 -d15s -H "Authorization: Basic ..." -s bench/put_numbers.lua \
--       http://127.0.0.1:18080 -- /path/to/guids.txt RUNBASE
--
-- guids.txt holds account GUIDs (one a line); the numbers are spread over
-- them. RUNBASE (digits) keeps numbers unique across runs on the same data
-- directory: number = 7 . RUNBASE(4 digits) . thread(1 digit) . counter(8 digits),
-- i.e. 14 digits, a valid E.164 number, never one of the seeded ones
-- (6480000000+i). Only 201 Created responses are counted as creates; every
-- other status is counted and reported by code.

local counter = 0
local threads = {}

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local guids = {}
local n = 0
local seq = 0
local prefix = ""
created = 0
other = {}

function init(args)
  local file = args[1] or "guids.txt"
  local runbase = tonumber(args[2] or "0") % 10000
  local f = assert(io.open(file, "r"), "cannot open " .. file)
  for line in f:lines() do
    if #line > 0 then
      n = n + 1
      guids[n] = line
    end
  end
  f:close()
  assert(n > 0, "no GUIDs in " .. file)
  prefix = string.format("7%04d%d", runbase, (id or 0) % 10)
  wrk.method = "PUT"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  seq = seq + 1
  local g = guids[((id or 0) * 7919 + seq) % n + 1]
  local body = string.format('{"number":"%s%08d"}', prefix, seq)
  return wrk.format("PUT", "/api-sys/account/" .. g .. "/number", nil, body)
end

function response(status, headers, body)
  if status == 201 then
    created = created + 1
  else
    other[status] = (other[status] or 0) + 1
  end
end

function done(summary, latency, requests)
  local total201 = 0
  local others = {}
  for _, t in ipairs(threads) do
    total201 = total201 + (t:get("created") or 0)
    local o = t:get("other")
    if o then
      for code, c in pairs(o) do others[code] = (others[code] or 0) + c end
    end
  end
  local secs = summary.duration / 1e6
  local parts = {}
  for code, c in pairs(others) do parts[#parts + 1] = code .. ":" .. c end
  io.write(string.format("RESULT requests=%d created201=%d seconds=%.3f creates_per_s=%.1f other_statuses=%s non2xx3xx=%d socket_errors=%d p50_ms=%.2f p99_ms=%.2f\n",
    summary.requests, total201, secs, total201 / secs, (#parts > 0 and table.concat(parts, ",") or "none"),
    summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
