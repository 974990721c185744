-- Copyright (C) 2026 The ngx_smart_module authors
-- SPDX-License-Identifier: BSD-2-Clause
-- wrk script: a different bearer token on every request (cold verification).
-- usage: wrk ... -s bench/cycle.lua URL -- TOKENS_FILE
local tokens = {}
local i = 0

function init(args)
    for line in io.lines(args[1]) do
        tokens[#tokens + 1] = "Bearer " .. line
    end
end

function request()
    i = i % #tokens + 1
    return wrk.format("GET", nil, { ["Authorization"] = tokens[i] })
end
