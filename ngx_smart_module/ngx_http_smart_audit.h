
/*
 * ngx_smart_module: declarations shared by the audit module
 * (ngx_http_smart_audit.c) and the status counters (ngx_http_smart_status.c).
 */

#ifndef _NGX_HTTP_SMART_AUDIT_H_INCLUDED_
#define _NGX_HTTP_SMART_AUDIT_H_INCLUDED_


#include "ngx_http_smart_module.h"


/* Counters after the glue's own (ngx_http_smart_stat_e). */
typedef enum {
    NGX_HTTP_SMART_STAT_AUDIT_SENT = NGX_HTTP_SMART_STAT__GLUE_COUNT,
    NGX_HTTP_SMART_STAT_AUDIT_SPOOLED,
    NGX_HTTP_SMART_STAT_AUDIT_REPLAYED,
    NGX_HTTP_SMART_STAT_AUDIT_LOST,
    NGX_HTTP_SMART_STAT_AUDIT_QUEUE,        /* gauge */
    NGX_HTTP_SMART_STAT_REDIS_CONNECTED,    /* gauge, workers connected */
    NGX_HTTP_SMART_STAT_REQ_ALLOW,          /* allowed, reason "ok" */
    NGX_HTTP_SMART_STAT_REQ_NONE,           /* ended before a decision */
    NGX_HTTP_SMART_STAT_REQ_DENY_OTHER,
    NGX_HTTP_SMART_STAT_REQ_DENY,           /* + smart_err_e */

    /* + smart_err_e: allowed, then typed by smart_errors */
    NGX_HTTP_SMART_STAT_REQ_ALLOW_ERR = NGX_HTTP_SMART_STAT_REQ_DENY
                                        + SMART_ERR__COUNT,
    NGX_HTTP_SMART_STAT_COUNT = NGX_HTTP_SMART_STAT_REQ_ALLOW_ERR
                                + SMART_ERR__COUNT
} ngx_http_smart_stat_audit_e;


extern ngx_module_t  ngx_http_smart_audit_module;


/* ngx_http_smart_status.c */
ngx_int_t ngx_http_smart_status_zone(ngx_conf_t *cf);
void ngx_http_smart_status_add(ngx_uint_t counter, ngx_int_t delta);
void ngx_http_smart_status_request(ngx_http_smart_ctx_t *ctx);
ngx_int_t ngx_http_smart_status_handler(ngx_http_request_t *r);
void ngx_http_smart_status_reset(void);


#endif /* _NGX_HTTP_SMART_AUDIT_H_INCLUDED_ */
