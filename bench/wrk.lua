-- wrk script of the crash-cache bench (driven by bench/wrk.ts, which writes the data file).
-- Each thread targets one address of BENCH_TARGETS (thread i -> target i mod n), so one wrk process
-- can load several server processes on different ports. Requests come from the data file: templates
-- whose event-id and group marks are filled per request (a fresh id every time; in gzip templates
-- each mark becomes a small gzip member of its own, see bench/workload.ts), and pools of pre-built
-- deflate requests, each thread taking its own share. Results go to stdout as one BENCH_RESULT line
-- of JSON.

local bit = require("bit")
local band, bxor, rshift = bit.band, bit.bxor, bit.rshift
local crctab = {}
for i = 0, 255 do
  local c = i
  for _ = 1, 8 do
    if band(c, 1) ~= 0 then c = bxor(rshift(c, 1), 0xEDB88320) else c = rshift(c, 1) end
  end
  crctab[i] = c
end
local function le32(x)
  return string.char(band(x, 255), band(rshift(x, 8), 255), band(rshift(x, 16), 255), band(rshift(x, 24), 255))
end
-- a gzip member holding s in one stored deflate block (#s + 23 bytes)
local GZHEAD = "\31\139\8\0\0\0\0\0\0\255"
local function member(s)
  local c = 0xFFFFFFFF
  for i = 1, #s do c = bxor(crctab[band(bxor(c, string.byte(s, i)), 255)], rshift(c, 8)) end
  local n = #s
  return GZHEAD .. string.char(1, band(n, 255), rshift(n, 8), 255 - band(n, 255), 255 - rshift(n, 8)) .. s .. le32(bxor(c, 0xFFFFFFFF)) .. le32(n)
end

local threads = {}
local nsetup = 0

function setup(thread)
  nsetup = nsetup + 1
  thread:set("tid", nsetup)
  local targets = {}
  for hp in string.gmatch(os.getenv("BENCH_TARGETS"), "[^,]+") do
    targets[#targets + 1] = hp
  end
  local hp = targets[((nsetup - 1) % #targets) + 1]
  local host, port = string.match(hp, "^(.*):(%d+)$")
  thread.addr = wrk.lookup(host, port)[1]
  threads[#threads + 1] = thread
end

function init(args)
  local nthreads = tonumber(os.getenv("BENCH_THREADS"))
  nonce = os.getenv("BENCH_NONCE")
  counter = 0
  wraps = 0
  local f = assert(io.open(os.getenv("BENCH_DATA"), "rb"))
  local data = f:read("*a")
  f:close()
  local pos = 1
  local function line()
    local e = string.find(data, "\n", pos, true)
    local s = string.sub(data, pos, e - 1)
    pos = e + 1
    return s
  end
  local function take(n)
    local s = string.sub(data, pos, pos + n - 1)
    pos = pos + n
    return s
  end
  templates = {}
  sched = {}
  while pos <= #data do
    local kind, a, b, c, d = string.match(line(), "^(%a) (%d+) ?(%d*) ?(%d*) ?(%d*)$")
    if kind == "T" then
      local t = { pooled = false, groups = tonumber(b), n = tonumber(c), gz = d == "1", parts = {}, buf = {} }
      for i = 1, t.n do
        local pl = line()
        if pl == "I" then t.parts[i] = 1
        elseif pl == "G" then t.parts[i] = 2
        else t.parts[i] = take(tonumber(string.sub(pl, 3))) end
      end
      templates[tonumber(a) + 1] = t
    elseif kind == "P" then
      local t = { pooled = true, entries = {}, cursor = 1 }
      local n = tonumber(b)
      for k = 1, n do
        local s = take(tonumber(line()))
        if (k - 1) % nthreads == tid - 1 then t.entries[#t.entries + 1] = s end
      end
      templates[tonumber(a) + 1] = t
    elseif kind == "S" then
      for i in string.gmatch(line(), "%d+") do sched[#sched + 1] = tonumber(i) + 1 end
    end
  end
  data = nil
  collectgarbage()
  slot = ((tid - 1) * 97) % #sched
end

function request()
  slot = slot + 1
  if slot > #sched then slot = 1 end
  local t = templates[sched[slot]]
  counter = counter + 1
  if t.pooled then
    if t.cursor > #t.entries then
      t.cursor = 1
      wraps = wraps + 1
    end
    local s = t.entries[t.cursor]
    t.cursor = t.cursor + 1
    return s
  end
  -- the group from the request counter, not the template's: a fixture's variants share its groups
  local id = nonce .. string.format("%04x%08x", tid, counter)
  local g = string.format("%06x", counter % t.groups)
  if t.gz then
    id = member(id)
    g = member(g)
  end
  local buf, parts = t.buf, t.parts
  for i = 1, t.n do
    local p = parts[i]
    if p == 1 then buf[i] = id
    elseif p == 2 then buf[i] = g
    else buf[i] = p end
  end
  return table.concat(buf, "", 1, t.n)
end

function done(summary, latency, requests)
  local w, sent = 0, 0
  for _, t in ipairs(threads) do
    w = w + (t:get("wraps") or 0)
    sent = sent + (t:get("counter") or 0)
  end
  local e = summary.errors
  -- wrk's own CPU time (all threads), so that the bench can tell whether the generator was the limit
  local cpu = 0
  local f = io.open("/proc/self/stat", "r")
  if f then
    local stat = f:read("*a")
    f:close()
    local rest = string.sub(stat, string.find(stat, ")", 1, true) + 2)
    local fields = {}
    for x in string.gmatch(rest, "%S+") do fields[#fields + 1] = x end
    cpu = (tonumber(fields[12]) + tonumber(fields[13])) / 100
  end
  io.write(string.format(
    'BENCH_RESULT {"duration_us":%d,"requests":%d,"sent":%d,"bytes":%d,"connect_errors":%d,"read_errors":%d,' ..
    '"write_errors":%d,"status_errors":%d,"timeouts":%d,"lat_mean_us":%.1f,"lat_p50_us":%d,"lat_p90_us":%d,' ..
    '"lat_p99_us":%d,"lat_max_us":%d,"pool_wraps":%d,"cpu_s":%.2f}\n',
    summary.duration, summary.requests, sent, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, w, cpu))
end
