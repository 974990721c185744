
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * ngx_smart_module: the audit module (ngx_http_smart_audit.c); its
 * counters are declared in ngx_http_smart_status.h.
 */

#ifndef _NGX_HTTP_SMART_AUDIT_H_INCLUDED_
#define _NGX_HTTP_SMART_AUDIT_H_INCLUDED_


#include "ngx_http_smart_module.h"
#include "ngx_http_smart_status.h"


#endif /* _NGX_HTTP_SMART_AUDIT_H_INCLUDED_ */
