
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * ngx_smart_module: the response and request body filters
 * (ngx_http_smart_filter.c).
 */

#ifndef _NGX_HTTP_SMART_FILTER_H_INCLUDED_
#define _NGX_HTTP_SMART_FILTER_H_INCLUDED_


#include "ngx_http_smart_module.h"


/* Installs the header, body and request body filters; postconfiguration. */
ngx_int_t ngx_http_smart_filter_init(ngx_conf_t *cf);


#endif /* _NGX_HTTP_SMART_FILTER_H_INCLUDED_ */
