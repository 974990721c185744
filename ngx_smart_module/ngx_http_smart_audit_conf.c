
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * ngx_smart_module: the audit module's configuration (docs/directives.md):
 * the directives smart_audit_redis, smart_audit_spool and smart_status,
 * the main and location configuration with the checks of
 * smart_audit_required, and the $smart_tenant variable.  The directive
 * table and the module itself are in ngx_http_smart_audit.c.
 */

#include "ngx_http_smart_audit_private.h"
#include "ngx_http_smart_util.h"


static ngx_int_t ngx_http_smart_tenant_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static char *ngx_http_smart_audit_redis_addr(ngx_conf_t *cf,
    ngx_str_t *addr, in_port_t default_port, ngx_http_smart_redis_addr_t *a);
static char *ngx_http_smart_audit_sentinels(ngx_conf_t *cf,
    ngx_http_smart_audit_main_conf_t *amcf, ngx_str_t *list);
static char *ngx_http_smart_audit_master(ngx_conf_t *cf,
    ngx_http_smart_audit_main_conf_t *amcf, ngx_str_t *name);
static ngx_int_t ngx_http_smart_audit_conf_rv(ngx_conf_t *cf, char *rv);
static ngx_int_t ngx_http_smart_audit_redis_param(ngx_conf_t *cf,
    ngx_http_smart_audit_main_conf_t *amcf, ngx_str_t *v);
static char *ngx_http_smart_audit_password(ngx_conf_t *cf,
    ngx_http_smart_audit_main_conf_t *amcf, ngx_str_t *file);


ngx_int_t
ngx_http_smart_audit_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var;

    static ngx_str_t  name = ngx_string("smart_tenant");

    var = ngx_http_add_variable(cf, &name, NGX_HTTP_VAR_NOCACHEABLE);
    if (var == NULL) {
        return NGX_ERROR;
    }

    var->get_handler = ngx_http_smart_tenant_variable;

    return NGX_OK;
}


static ngx_int_t
ngx_http_smart_tenant_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_str_t                         value;
    ngx_http_smart_audit_loc_conf_t  *alcf;

    alcf = ngx_http_get_module_loc_conf(r, ngx_http_smart_audit_module);

    if (alcf->tenant == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    if (ngx_http_complex_value(r, alcf->tenant, &value) != NGX_OK) {
        return NGX_ERROR;
    }

    v->data = value.data;
    v->len = value.len;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    return NGX_OK;
}


void *
ngx_http_smart_audit_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_smart_audit_main_conf_t  *amcf;

    amcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_smart_audit_main_conf_t));
    if (amcf == NULL) {
        return NULL;
    }

    ngx_http_smart_status_reset();

    return amcf;
}


void *
ngx_http_smart_audit_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_smart_audit_loc_conf_t  *alcf;

    alcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_smart_audit_loc_conf_t));
    if (alcf == NULL) {
        return NULL;
    }

    alcf->audit = NGX_CONF_UNSET;
    alcf->required = NGX_CONF_UNSET;
    alcf->tenant = NGX_CONF_UNSET_PTR;

    return alcf;
}


char *
ngx_http_smart_audit_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child)
{
    ngx_http_smart_audit_loc_conf_t  *prev = parent;
    ngx_http_smart_audit_loc_conf_t  *conf = child;

    ngx_http_smart_audit_main_conf_t  *amcf;

    ngx_conf_merge_value(conf->audit, prev->audit, 1);
    ngx_conf_merge_value(conf->required, prev->required, 0);
    ngx_conf_merge_ptr_value(conf->tenant, prev->tenant, NULL);

    amcf = ngx_http_conf_get_module_main_conf(cf,
                                              ngx_http_smart_audit_module);

    if (conf->required && (!conf->audit
                           || (!amcf->has_redis && amcf->spool.len == 0)))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"smart_audit_required\" needs \"smart_audit\" "
                           "and \"smart_audit_redis\" or "
                           "\"smart_audit_spool\"");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_smart_audit_password(ngx_conf_t *cf,
    ngx_http_smart_audit_main_conf_t *amcf, ngx_str_t *file)
{
    size_t     n;
    ngx_str_t  text;

    if (ngx_http_smart_read_file(cf, file, 4096, &text) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    n = text.len;

    while (n > 0 && (text.data[n - 1] == '\n' || text.data[n - 1] == '\r'
                     || text.data[n - 1] == ' '))
    {
        n--;
    }

    if (n == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"smart_audit_redis\": password file \"%V\" "
                           "is empty", file);
        return NGX_CONF_ERROR;
    }

    amcf->redis.password.data = ngx_pnalloc(cf->pool, n + 1);
    if (amcf->redis.password.data == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memcpy(amcf->redis.password.data, text.data, n);
    amcf->redis.password.data[n] = '\0';
    amcf->redis.password.len = n;
    ngx_explicit_memzero(text.data, text.len);

    return NGX_CONF_OK;
}


char *
ngx_http_smart_audit_redis(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_smart_audit_main_conf_t  *amcf = conf;

    char                         *rv;
    ngx_int_t                     rc;
    ngx_str_t                    *value;
    ngx_uint_t                    i;
    ngx_http_smart_redis_addr_t   a;

    if (amcf->has_redis) {
        return "is duplicate";
    }

    value = cf->args->elts;
    i = 1;

    /* HOST:PORT, or sentinel=... master=... among the parameters */

    if (ngx_strncmp(value[1].data, "sentinel=", 9) != 0
        && ngx_strncmp(value[1].data, "master=", 7) != 0)
    {
        rv = ngx_http_smart_audit_redis_addr(cf, &value[1], 6379, &a);
        if (rv != NGX_CONF_OK) {
            return rv;
        }

        amcf->redis.host = a.host;
        amcf->redis.port = a.port;
        i = 2;
    }

    amcf->redis.connect_timeout = NGX_HTTP_SMART_REDIS_CONNECT_TIMEOUT;
    amcf->redis.command_timeout = NGX_HTTP_SMART_REDIS_COMMAND_TIMEOUT;
    ngx_str_set(&amcf->stream, "smart:audit");
    ngx_sprintf(amcf->maxlen, "%ui%Z", (ngx_uint_t) 1000000);

    for ( /* void */ ; i < cf->args->nelts; i++) {
        rc = ngx_http_smart_audit_redis_param(cf, amcf, &value[i]);

        if (rc == NGX_DECLINED) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"smart_audit_redis\": invalid parameter "
                               "\"%V\"", &value[i]);
            return NGX_CONF_ERROR;
        }

        if (rc != NGX_OK) {
            return NGX_CONF_ERROR;
        }
    }

    if (amcf->redis.host.len != 0
        && (amcf->redis.nsentinels != 0 || amcf->redis.master.len != 0))
    {
        return "takes either HOST:PORT or \"sentinel=\" and \"master=\"";
    }

    if ((amcf->redis.nsentinels != 0) != (amcf->redis.master.len != 0)) {
        return "needs both \"sentinel=\" and \"master=\"";
    }

    amcf->has_redis = 1;

    if (ngx_http_smart_status_zone(cf) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/*
 * The address, host[:port] over TCP, kept numeric so that connecting never
 * resolves a name in a worker.
 */

static char *
ngx_http_smart_audit_redis_addr(ngx_conf_t *cf, ngx_str_t *addr,
    in_port_t default_port, ngx_http_smart_redis_addr_t *a)
{
    u_char     *p, text[NGX_SOCKADDR_STRLEN];
    size_t      len;
    ngx_url_t   u;

    ngx_memzero(&u, sizeof(ngx_url_t));
    u.url = *addr;
    u.default_port = default_port;

    if (ngx_parse_url(cf->pool, &u) != NGX_OK || u.naddrs == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"smart_audit_redis\": invalid address \"%V\"%s%s",
                           addr, u.err ? ": " : "",
                           u.err ? u.err : "");
        return NGX_CONF_ERROR;
    }

    if (u.addrs[0].sockaddr->sa_family != AF_INET
#if (NGX_HAVE_INET6)
        && u.addrs[0].sockaddr->sa_family != AF_INET6
#endif
       )
    {
        return "needs a TCP address";
    }

    len = ngx_inet_ntop(u.addrs[0].sockaddr->sa_family,
                        u.addrs[0].sockaddr->sa_family == AF_INET
                        ? (void *) &((struct sockaddr_in *)
                                     u.addrs[0].sockaddr)->sin_addr
#if (NGX_HAVE_INET6)
                        : (void *) &((struct sockaddr_in6 *)
                                     u.addrs[0].sockaddr)->sin6_addr,
#else
                        : NULL,
#endif
                        text, sizeof(text));
    if (len == 0) {
        return "has an unprintable address";
    }

    p = ngx_pnalloc(cf->pool, len + 1);
    if (p == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memcpy(p, text, len);
    p[len] = '\0';

    a->host.data = p;
    a->host.len = len;
    a->port = u.port;

    return NGX_CONF_OK;
}


/* sentinel=HOST[:PORT][,HOST[:PORT]...], port 26379 by default. */

static char *
ngx_http_smart_audit_sentinels(ngx_conf_t *cf,
    ngx_http_smart_audit_main_conf_t *amcf, ngx_str_t *list)
{
    u_char     *p, *last, *comma;
    char       *rv;
    ngx_str_t   one;

    if (amcf->redis.nsentinels != 0) {
        return "has \"sentinel=\" twice";
    }

    amcf->redis.sentinels = ngx_pcalloc(cf->pool,
                                        NGX_HTTP_SMART_REDIS_SENTINELS
                                        * sizeof(ngx_http_smart_redis_addr_t));
    if (amcf->redis.sentinels == NULL) {
        return NGX_CONF_ERROR;
    }

    p = list->data;
    last = list->data + list->len;

    for ( ;; ) {
        comma = ngx_strlchr(p, last, ',');
        one.data = p;
        one.len = (comma != NULL ? comma : last) - p;

        if (one.len == 0) {
            return "has an empty address in \"sentinel=\"";
        }

        if (amcf->redis.nsentinels == NGX_HTTP_SMART_REDIS_SENTINELS) {
            return "has too many sentinels (at most 16)";
        }

        rv = ngx_http_smart_audit_redis_addr(cf, &one, 26379,
                  &amcf->redis.sentinels[amcf->redis.nsentinels]);
        if (rv != NGX_CONF_OK) {
            return rv;
        }

        amcf->redis.nsentinels++;

        if (comma == NULL) {
            return NGX_CONF_OK;
        }

        p = comma + 1;
    }
}


/* master=NAME: printable, as the sentinels know it. */

static char *
ngx_http_smart_audit_master(ngx_conf_t *cf,
    ngx_http_smart_audit_main_conf_t *amcf, ngx_str_t *name)
{
    size_t  i;

    if (amcf->redis.master.len != 0) {
        return "has \"master=\" twice";
    }

    if (name->len == 0 || name->len > 256) {
        return "needs a \"master=\" name of 1 to 256 characters";
    }

    for (i = 0; i < name->len; i++) {
        if (name->data[i] <= ' ' || name->data[i] >= 0x7f) {
            return "has an invalid \"master=\" name";
        }
    }

    amcf->redis.master = *name;

    return NGX_CONF_OK;
}


/*
 * One parameter after the address: NGX_OK, NGX_DECLINED when it is not
 * valid, NGX_ERROR when its password file cannot be used (logged).
 */

static ngx_int_t
ngx_http_smart_audit_redis_param(ngx_conf_t *cf,
    ngx_http_smart_audit_main_conf_t *amcf, ngx_str_t *v)
{
    ngx_int_t  n;
    ngx_str_t  s;

    if (ngx_strncmp(v->data, "db=", 3) == 0) {
        n = ngx_atoi(v->data + 3, v->len - 3);
        if (n == NGX_ERROR) {
            return NGX_DECLINED;
        }

        amcf->redis.db = (ngx_uint_t) n;
        return NGX_OK;
    }

    if (ngx_strncmp(v->data, "wait=", 5) == 0) {
        n = ngx_atoi(v->data + 5, v->len - 5);
        if (n == NGX_ERROR || n > 16) {
            return NGX_DECLINED;
        }

        amcf->redis.wait = (ngx_uint_t) n;
        return NGX_OK;
    }

    if (ngx_strncmp(v->data, "stream=", 7) == 0) {
        amcf->stream.data = v->data + 7;
        amcf->stream.len = v->len - 7;

        return (amcf->stream.len == 0) ? NGX_DECLINED : NGX_OK;
    }

    if (ngx_strncmp(v->data, "maxlen=", 7) == 0) {
        n = ngx_atoi(v->data + 7, v->len - 7);
        if (n == NGX_ERROR || n == 0) {
            return NGX_DECLINED;
        }

        ngx_sprintf(amcf->maxlen, "%i%Z", n);
        return NGX_OK;
    }

    if (ngx_strncmp(v->data, "sentinel=", 9) == 0) {
        s.data = v->data + 9;
        s.len = v->len - 9;

        return ngx_http_smart_audit_conf_rv(cf,
                   ngx_http_smart_audit_sentinels(cf, amcf, &s));
    }

    if (ngx_strncmp(v->data, "master=", 7) == 0) {
        s.data = v->data + 7;
        s.len = v->len - 7;

        return ngx_http_smart_audit_conf_rv(cf,
                   ngx_http_smart_audit_master(cf, amcf, &s));
    }

    if (ngx_strncmp(v->data, "password_file=", 14) == 0) {
        s.data = v->data + 14;
        s.len = v->len - 14;

        if (s.len == 0) {
            return NGX_DECLINED;
        }

        if (ngx_http_smart_audit_password(cf, amcf, &s) != NGX_CONF_OK) {
            return NGX_ERROR;
        }

        return NGX_OK;
    }

    return NGX_DECLINED;
}


/* A parameter handler's message, logged: NGX_OK or NGX_ERROR. */

static ngx_int_t
ngx_http_smart_audit_conf_rv(ngx_conf_t *cf, char *rv)
{
    if (rv == NGX_CONF_OK) {
        return NGX_OK;
    }

    if (rv != NGX_CONF_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"smart_audit_redis\" %s",
                           rv);
    }

    return NGX_ERROR;
}


char *
ngx_http_smart_audit_spool(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_smart_audit_main_conf_t  *amcf = conf;

    ngx_str_t  *value;

    if (amcf->spool.data != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;
    amcf->spool = value[1];

    if (amcf->spool.len == 0
        || ngx_conf_full_name(cf->cycle, &amcf->spool, 0) != NGX_OK)
    {
        return "needs a path";
    }

    /* room for ".<pid>.<serial>@<offset>" after it */

    if (amcf->spool.len > NGX_MAX_PATH - 64) {
        return "is too long";
    }

    if (ngx_http_smart_status_zone(cf) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


char *
ngx_http_smart_status(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_smart_status_handler;

    if (ngx_http_smart_status_zone(cf) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}
