-- Copyright (C) 2026 The ngx_smart_module authors
-- SPDX-License-Identifier: BSD-2-Clause
-- wrk script: every request with a method and a body (variant J's PUT).
-- usage: wrk ... -H 'Content-Type: ...' -s bench/body.lua URL -- METHOD BODY_FILE
-- wrk.lua's init() calls this init() before it formats the one request it
-- then sends each time, so the method and body set here are in it.
function init(args)
    wrk.method = args[1]
    local f = assert(io.open(args[2], "rb"))
    wrk.body = f:read("*a")
    f:close()
end
