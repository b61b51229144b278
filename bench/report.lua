-- report.lua: wrk's summary as one JSON line, for bench/run.py.
-- Non-2xx/3xx answers are counted apart (non2xx): a scenario with any
-- fails. Optional request from the environment: BENCH_METHOD, BENCH_BODY_FILE,
-- BENCH_HEADERS ("Name: value|Name: value").

local method = os.getenv("BENCH_METHOD")
local body_file = os.getenv("BENCH_BODY_FILE")
local headers = os.getenv("BENCH_HEADERS")

if method then wrk.method = method end
if body_file then
	local f = assert(io.open(body_file, "rb"))
	wrk.body = f:read("*a")
	f:close()
elseif method == "POST" then
	-- an empty body, so that wrk sends Content-Length: 0 (Kore answers
	-- 411 to a POST without one)
	wrk.body = ""
end
if headers then
	for name, value in string.gmatch(headers, "([^:|]+):%s*([^|]*)") do
		wrk.headers[name] = value
	end
end

function done(summary, latency, requests)
	io.write(string.format(
	    'BENCH {"requests": %d, "seconds": %.3f, "errors": %d, ' ..
	    '"non2xx": %d, "p50_ms": %.3f, "p99_ms": %.3f, ' ..
	    '"max_ms": %.3f}\n',
	    summary.requests, summary.duration / 1e6,
	    summary.errors.connect + summary.errors.read +
	    summary.errors.write + summary.errors.timeout,
	    summary.errors.status,
	    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
	    latency.max / 1000))
end
