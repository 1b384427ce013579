-- Stockroom's wrk workloads. Environment:
--   WORKLOAD  W1 | W2 | W3
--   DATA      folder written by bench/seed.py (products, tokens, orders)
--   RESULT    file the JSON result line is written to
--   SEED      random seed (default 7)
-- W1  anonymous GET /api/v1/products/?page_size=20&page=<1..100>
-- W2  GET /api/v1/orders/<id>/ as the order's owner
-- W3  POST /api/v1/orders/ with 3 distinct random products, quantity 1 each
--
-- W1's 100 requests and W2's (one per order) are formatted once per thread in
-- init(), as wrk's own scripts do, so that wrk, which shares the cores with
-- the server, spends little CPU per request; W3's are built per request
-- (random products).

local workload = os.getenv("WORKLOAD") or "W1"
local data = os.getenv("DATA") or "."
local result_file = os.getenv("RESULT") or "result.json"
local seed = tonumber(os.getenv("SEED") or "7")

local function lines_of(name)
  local out = {}
  for line in io.lines(data .. "/" .. name) do
    if #line > 0 then out[#out + 1] = line end
  end
  return out
end

local products, tokens, formatted = {}, {}, {}
local counter, thread_id = 0, 0
statuses = {}  -- a global: done() reads it from every thread
threads = {}

function setup(thread)
  thread_id = thread_id + 1
  thread:set("id", thread_id)
  threads[#threads + 1] = thread
end

function init(args)
  math.randomseed(seed + id)
  if workload == "W1" then
    for page = 1, 100 do
      formatted[page] = wrk.format("GET", "/api/v1/products/?page_size=20&page=" .. page, { Accept = "application/json" })
    end
  elseif workload == "W2" then
    for _, line in ipairs(lines_of("orders.tsv")) do
      local order_id, token = line:match("([^\t]+)\t(.+)")
      formatted[#formatted + 1] = wrk.format("GET", "/api/v1/orders/" .. order_id .. "/",
        { Accept = "application/json", Authorization = "Bearer " .. token })
    end
  else
    products = lines_of("products.txt")
    tokens = lines_of("tokens.txt")
  end
  statuses = {}
end

function request()
  counter = counter + 1
  if workload == "W1" then
    return formatted[math.random(1, 100)]
  elseif workload == "W2" then
    return formatted[(counter % #formatted) + 1]
  else
    local picked, lines = {}, {}
    while #lines < 3 do
      local p = products[math.random(1, #products)]
      if not picked[p] then
        picked[p] = true
        lines[#lines + 1] = '{"product_id":' .. p .. ',"quantity":1}'
      end
    end
    local token = tokens[(counter % #tokens) + 1]
    return wrk.format("POST", "/api/v1/orders/",
      { ["Content-Type"] = "application/json", Accept = "application/json", Authorization = "Bearer " .. token },
      '{"lines":[' .. table.concat(lines, ",") .. ']}')
  end
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local counts = {}
  for _, thread in ipairs(threads) do
    local s = thread:get("statuses")
    for code, n in pairs(s) do counts[code] = (counts[code] or 0) + n end
  end
  local non2xx, parts = 0, {}
  for code, n in pairs(counts) do
    if code < 200 or code > 299 then non2xx = non2xx + n end
    parts[#parts + 1] = '"' .. code .. '":' .. n
  end
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  local line = string.format(
    '{"workload":"%s","requests":%d,"rps":%.1f,"p50_ms":%.2f,"p90_ms":%.2f,"p99_ms":%.2f,"non_2xx":%d,"socket_errors":%d,"statuses":{%s}}',
    workload, summary.requests, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    non2xx, errors, table.concat(parts, ","))
  local fh = assert(io.open(result_file, "w"))
  fh:write(line .. "\n")
  fh:close()
end
