
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * ngx_smart_module: the access-phase handler (ngx_http_smart_access.c).
 */

#ifndef _NGX_HTTP_SMART_ACCESS_H_INCLUDED_
#define _NGX_HTTP_SMART_ACCESS_H_INCLUDED_


#include "ngx_http_smart_module.h"


/* The access-phase handler of every smart location. */
ngx_int_t ngx_http_smart_access_handler(ngx_http_request_t *r);


#endif /* _NGX_HTTP_SMART_ACCESS_H_INCLUDED_ */
