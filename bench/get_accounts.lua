-- wrk script: GET /api-sys/account/{guid}, rotating through many account GUIDs.
--
--   wrk -t2 -c64 -d15s -H "Authorization: Basic ..." -s bench/get_accounts.lua \
--       http://127.0.0.1:18080 -- /path/to/guids.txt
--
-- The file holds one GUID a line (sqlite3 xc5.db "SELECT guid FROM accounts").
-- Each wrk thread loads it, starts at a different offset and walks it in
-- order, so that consecutive requests hit different rows (no row is served
-- twice in a row from a warm cache line). Requests are pre-formatted in
-- init() so that the Lua side costs the same against every server.
-- The same script is used against bench/barehttp, which ignores the path.

local counter = 0
local threads = {}

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local reqs = {}
local n = 0
local i = 0

function init(args)
  local file = args[1] or "guids.txt"
  local f = assert(io.open(file, "r"), "cannot open " .. file)
  local headers = wrk.headers
  for line in f:lines() do
    if #line > 0 then
      n = n + 1
      reqs[n] = wrk.format("GET", "/api-sys/account/" .. line, headers)
    end
  end
  f:close()
  assert(n > 0, "no GUIDs in " .. file)
  -- Spread the threads over the list.
  i = math.floor((id or 0) * n / 2) % n
end

function request()
  i = i + 1
  if i > n then i = 1 end
  return reqs[i]
end

function done(summary, latency, requests)
  local s = summary.errors.status
  io.write(string.format("RESULT requests=%d seconds=%.3f rps=%.1f non2xx3xx=%d connect_err=%d read_err=%d write_err=%d timeout=%d p50_ms=%.2f p99_ms=%.2f\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6), s,
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
