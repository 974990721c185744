-- Copyright (C) 2026 The ngx_smart_module authors
-- SPDX-License-Identifier: BSD-2-Clause
-- wrk script: a pause between a response and the connection's next
-- request, so that the offered load stays well below saturation and the
-- latency shows what each request costs rather than the queue.  wrk's
-- timers tick in whole milliseconds, so a fixed pause would line the
-- connections up into bursts that queue behind each other; the pause is
-- drawn from 1 .. 2 * DELAY_MS - 1 ms (mean DELAY_MS) to spread them.
-- usage: wrk ... -s bench/paced.lua URL -- DELAY_MS [TOKENS_FILE [METHOD BODY_FILE]]
-- With TOKENS_FILE, a different bearer token on every request (as
-- bench/cycle.lua; "-" for none); otherwise the request wrk was given (-H
-- headers), with METHOD and the body read from BODY_FILE when given (as
-- bench/body.lua).
local pause = 2
local tokens = {}
local i = 0

function init(args)
    pause = math.max(1, math.floor(tonumber(args[1]) or pause))
    math.randomseed(os.time())
    if args[3] then
        wrk.method = args[3]
        local f = assert(io.open(args[4], "rb"))
        wrk.body = f:read("*a")
        f:close()
    end
    if args[2] and args[2] ~= "-" then
        for line in io.lines(args[2]) do
            tokens[#tokens + 1] = "Bearer " .. line
        end
    end
end

function delay()
    return math.random(1, 2 * pause - 1)
end

local plain = nil

function request()
    if #tokens == 0 then
        plain = plain or wrk.format()
        return plain
    end
    i = i % #tokens + 1
    return wrk.format("GET", nil, { ["Authorization"] = tokens[i] })
end
