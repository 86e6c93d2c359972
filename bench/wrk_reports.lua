-- wrk script for bench/load_bench.py: every request is a new report, as a grid worker's phone sends it.
--
--   wrk ... -s bench/wrk_reports.lua URL -- DATA_FILE LOG_PREFIX RUN_NONCE
--
-- DATA_FILE (written by load_bench.py) sets `token`, the bearer token signed in beforehand, and
-- `tails`, report bodies without their client UUID: GCJ-02 points at random places inside the
-- sample county, computed in Python where the county's cells are known. Each request takes one
-- at random and puts a fresh client UUID in front, so the service makes a new case every time
-- (a repeated UUID would be an idempotent retry, a cheaper path that must not be measured).
--
-- The UUID is built from math.random (seeded per thread) around the thread's number, the run's
-- nonce and a counter: random-looking as a phone's, yet unique by construction within the run
-- and across runs on one database, so the count of cases can be checked against the answers.
-- Each thread logs the UUIDs it sent and those answered 201 to LOG_PREFIX-<thread>-sent.txt and
-- -created.txt (line-buffered: a wrk thread's files are never closed); done() prints the counts.

local threads = {}

function setup(thread)
    table.insert(threads, thread)
    thread:set("id", #threads)
end

function init(args)
    dofile(args[1])
    nonce = tonumber(args[3])
    math.randomseed(nonce * 1000 + id)
    counter = 0
    sent, answered, created, existing, refused = 0, 0, 0, 0, 0
    statuses = {}
    sent_log = assert(io.open(args[2] .. "-" .. id .. "-sent.txt", "w"))
    created_log = assert(io.open(args[2] .. "-" .. id .. "-created.txt", "w"))
    sent_log:setvbuf("line")
    created_log:setvbuf("line")
    headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}
end

function request()
    counter = counter + 1
    sent = sent + 1
    local client_uuid = string.format(
        "%04x%04x-%04x-%04x-%04x-%04x%08x",
        math.random(0, 0xffff), math.random(0, 0xffff), id,
        0x4000 + math.random(0, 0x0fff), 0x8000 + math.random(0, 0x3fff),  -- version 4, RFC 4122 variant
        nonce, counter
    )
    sent_log:write(client_uuid, "\n")
    return wrk.format("POST", nil, headers, '{"client_uuid":"' .. client_uuid .. '",' .. tails[math.random(#tails)])
end

function response(status, _, body)
    answered = answered + 1
    if status == 201 then
        created = created + 1
        local client_uuid = string.match(body, '"client_uuid"%s*:%s*"([%x%-]+)"')
        created_log:write(client_uuid or "?", "\n")
    elseif status == 200 then
        existing = existing + 1
    else
        refused = refused + 1
        statuses[status] = (statuses[status] or 0) + 1
    end
end

function done(summary, latency, requests)
    local totals = {sent = 0, answered = 0, created = 0, existing = 0, refused = 0}
    local refusals = {}
    for _, thread in ipairs(threads) do
        for name, _ in pairs(totals) do
            totals[name] = totals[name] + thread:get(name)
        end
        for status, count in pairs(thread:get("statuses")) do
            refusals[status] = (refusals[status] or 0) + count
        end
    end
    local by_status = {}
    for status, count in pairs(refusals) do
        table.insert(by_status, status .. ":" .. count)
    end
    table.sort(by_status)
    io.write(string.format("load_bench: sent %d answered %d created %d existing %d refused %d [%s]\n",
        totals.sent, totals.answered, totals.created, totals.existing, totals.refused, table.concat(by_status, " ")))
end
