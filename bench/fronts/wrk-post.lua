-- wrk script of `npm run bench -- fronts`: POSTs a JSON body whose "@USER@" is replaced by one
-- of N entity ids in turn (so caches and sticky experiments see many users), counts every
-- response that is not 200, and prints one JSON line of results.
-- Arguments (after --): path, body template, number of users, content type.

local requests = {}
local next_request = 0
local threads = {}

-- Globals, read from each thread by done().
non200 = 0
sample = ""

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local path, template, users, content_type = args[1], args[2], tonumber(args[3]), args[4]
  for i = 1, users do
    local body = template:gsub("@USER@", "u" .. i)
    requests[i] = wrk.format("POST", path, { ["Content-Type"] = content_type }, body)
  end
  next_request = math.random(users)
end

function request()
  next_request = next_request % #requests + 1
  return requests[next_request]
end

function response(status, headers, body)
  if status ~= 200 then
    non200 = non200 + 1
    if sample == "" then
      sample = status .. " " .. string.sub(body or "", 1, 160):gsub('[^%w%s%.:,_/-]', "?")
    end
  end
end

function done(summary, latency, _)
  local bad, first = 0, ""
  for _, thread in ipairs(threads) do
    bad = bad + thread:get("non200")
    local s = thread:get("sample")
    if first == "" and s ~= nil then first = s end
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests":%d,"durationUs":%d,"non200":%d,"sample":"%s",' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latencyUs":{"mean":%.1f,"max":%d,"p50":%d,"p90":%d,"p99":%d,"p999":%d}}\n',
    summary.requests, summary.duration, bad, first,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency.max, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9)))
end
