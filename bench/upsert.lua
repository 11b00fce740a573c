-- wrk script for bench/api_upsert.py: POST /v1/customers, a mix of new and existing source ids.
-- Arguments (after --): app_id token existing_count new_ratio run_tag
-- Existing customers are `bench-cust-<n>` (n in 1..existing_count, as bench/generate.py loads them) and
-- get a changed name and metadata, so every upsert of one is a real update; new ones are unique per run.

local threads = {}

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  app_id = args[1]
  token = args[2]
  existing = tonumber(args[3])
  new_ratio = tonumber(args[4])
  run_tag = args[5]
  counter = 0
  statuses = {}
  math.randomseed(os.time() * 1000 + tid * 7919)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["X-App-Id"] = app_id
  wrk.headers["X-App-Token"] = token
end

local cities = { "Warsaw", "Berlin", "Paris", "Madrid", "London", "Lisbon" }

function request()
  counter = counter + 1
  local source_id
  if math.random() < new_ratio then
    source_id = string.format("wrk-%s-%d-%d", run_tag, tid, counter)
  else
    source_id = "bench-cust-" .. math.random(1, existing)
  end
  local body = string.format(
    '{"source_id":"%s","name":"Bench Customer %d","email":"%s@bench.example",'
      .. '"phone":"+48600%06d","address":{"city":"%s","country":"PL"},'
      .. '"metadata":{"club_level":"Gold","visits":%d,"newsletter":true}}',
    source_id, counter, source_id, math.random(0, 999999), cities[math.random(1, #cities)], counter
  )
  return wrk.format(nil, "/v1/customers", nil, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local counts = {}
  for _, thread in ipairs(threads) do
    local thread_statuses = thread:get("statuses")
    for status, count in pairs(thread_statuses) do
      counts[status] = (counts[status] or 0) + count
    end
  end
  local parts = {}
  for status, count in pairs(counts) do
    table.insert(parts, string.format('"%d":%d', status, count))
  end
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"errors_connect":%d,"errors_read":%d,'
      .. '"errors_write":%d,"errors_status":%d,"errors_timeout":%d,"latency_mean_ms":%.2f,'
      .. '"latency_p50_ms":%.2f,"latency_p90_ms":%.2f,"latency_p99_ms":%.2f,"latency_max_ms":%.2f,"statuses":{%s}}\n',
    summary.requests, summary.duration, summary.bytes, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.status, summary.errors.timeout, latency.mean / 1000,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, table.concat(parts, ",")
  ))
end
