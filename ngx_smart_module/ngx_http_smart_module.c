
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * ngx_smart_module: directives, configuration, variables and registration.
 *
 * Everything here runs at configuration time except the variable handlers,
 * which only read the request ctx.
 */

#include "ngx_http_smart_module.h"
#include "ngx_http_smart_util.h"
#include "ngx_http_smart_cid.h"
#include "ngx_http_smart_cache.h"
#include "ngx_http_smart_keys.h"
#include "ngx_http_smart_jwks_shared.h"
#include "ngx_http_smart_filter.h"
#include "ngx_http_smart_access.h"
#include "ngx_http_smart_precheck.h"
#include "smart_b64.h"
#include "smart_claim.h"

#include <openssl/evp.h>


static ngx_int_t ngx_http_smart_add_variables(ngx_conf_t *cf);
static ngx_int_t ngx_http_smart_init(ngx_conf_t *cf);
static ngx_int_t ngx_http_smart_subrequest_handler(ngx_http_request_t *r);
static void *ngx_http_smart_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_smart_create_srv_conf(ngx_conf_t *cf);
static void *ngx_http_smart_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_smart_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static void ngx_http_smart_merge_keys(ngx_http_smart_loc_conf_t *prev,
    ngx_http_smart_loc_conf_t *conf);
static char *ngx_http_smart_merge_correlation(ngx_conf_t *cf,
    ngx_http_smart_loc_conf_t *prev, ngx_http_smart_loc_conf_t *conf);
static void ngx_http_smart_body_in_memory(ngx_conf_t *cf,
    ngx_http_smart_loc_conf_t *conf);
static char *ngx_http_smart_check_conf(ngx_conf_t *cf,
    ngx_http_smart_loc_conf_t *conf);
static char *ngx_http_smart_derive_policy(ngx_conf_t *cf,
    ngx_http_smart_loc_conf_t *conf);
static char *ngx_http_smart_str_list(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_smart_algorithms(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_smart_leeway(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_smart_claim_name(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_smart_fhir_base(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_smart_correlation_header(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_smart_error_contact(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_smart_fhir_base_url(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_smart_precheck_request(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_smart_operation(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_smart_require(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_smart_check_body_max(ngx_conf_t *cf, void *post,
    void *data);
static ngx_int_t ngx_http_smart_init_process(ngx_cycle_t *cycle);

static ngx_int_t ngx_http_smart_variable_str(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_smart_variable_decision(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_smart_variable_claim(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);


static ngx_conf_post_handler_pt  ngx_http_smart_body_max_bounds =
    ngx_http_smart_check_body_max;


static ngx_conf_enum_t  ngx_http_smart_patient_search[] = {
    { ngx_string("narrow"), SMART_PATIENT_SEARCH_NARROW },
    { ngx_string("deny"), SMART_PATIENT_SEARCH_DENY },
    { ngx_null_string, 0 }
};


static ngx_conf_num_bounds_t  ngx_http_smart_precheck_max_bounds = {
    ngx_conf_check_num_bounds, 1, SMART_POLICY_MAX_ENTRIES
};


static ngx_conf_enum_t  ngx_http_smart_response_check[] = {
    { ngx_string("off"), SMART_RESPONSE_CHECK_OFF },
    { ngx_string("on"), SMART_RESPONSE_CHECK_ON },
    { ngx_string("all"), SMART_RESPONSE_CHECK_ALL },
    { ngx_null_string, 0 }
};


static ngx_command_t  ngx_http_smart_commands[] = {

    { ngx_string("smart"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_smart_loc_conf_t, enable),
      NULL },

    { ngx_string("smart_fhir_base"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_smart_fhir_base,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("smart_issuer"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_smart_str_list,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_smart_loc_conf_t, issuers),
      NULL },

    { ngx_string("smart_audience"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_smart_str_list,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_smart_loc_conf_t, audiences),
      NULL },

    { ngx_string("smart_jwks_file"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_smart_load_keys,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      (void *) "jwks" },

    { ngx_string("smart_key_file"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_smart_load_keys,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      (void *) "pem" },

    { ngx_string("smart_hmac_secret_file"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_smart_load_keys,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      (void *) "hmac" },

    { ngx_string("smart_jwks_request"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_smart_jwks_request,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("smart_jwks_refresh"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_smart_loc_conf_t, jwks_refresh),
      NULL },

    { ngx_string("smart_algorithms"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_smart_algorithms,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("smart_leeway"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_smart_leeway,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("smart_scope_claim"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_smart_claim_name,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_smart_loc_conf_t, scope_claim),
      NULL },

    { ngx_string("smart_patient_claim"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_smart_claim_name,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_smart_loc_conf_t, patient_claim),
      NULL },

    { ngx_string("smart_token_cache"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE12,
      ngx_http_smart_token_cache,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("smart_correlation_header"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_smart_correlation_header,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("smart_error_contact"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_smart_error_contact,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("smart_body_max"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_smart_loc_conf_t, body_max),
      &ngx_http_smart_body_max_bounds },

    { ngx_string("smart_patient_search"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_smart_loc_conf_t, patient_search),
      &ngx_http_smart_patient_search },

    { ngx_string("smart_response_check"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_smart_loc_conf_t, response_check),
      &ngx_http_smart_response_check },

    { ngx_string("smart_response_check_max"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_smart_loc_conf_t, response_check_max),
      &ngx_http_smart_body_max_bounds },

    { ngx_string("smart_fhir_base_url"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_smart_fhir_base_url,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("smart_precheck_request"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_smart_precheck_request,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("smart_precheck_max"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_smart_loc_conf_t, precheck_max),
      &ngx_http_smart_precheck_max_bounds },

    { ngx_string("smart_operation"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_2MORE,
      ngx_http_smart_operation,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("smart_errors"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_smart_loc_conf_t, errors),
      NULL },

    { ngx_string("smart_explain"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_smart_loc_conf_t, explain),
      NULL },

    { ngx_string("smart_require"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_smart_require,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("smart_forward_token"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_smart_loc_conf_t, forward_token),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_smart_module_ctx = {
    ngx_http_smart_add_variables,          /* preconfiguration */
    ngx_http_smart_init,                   /* postconfiguration */

    ngx_http_smart_create_main_conf,       /* create main configuration */
    NULL,                                  /* init main configuration */

    ngx_http_smart_create_srv_conf,        /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_smart_create_loc_conf,        /* create location configuration */
    ngx_http_smart_merge_loc_conf          /* merge location configuration */
};


ngx_module_t  ngx_http_smart_module = {
    NGX_MODULE_V1,
    &ngx_http_smart_module_ctx,            /* module context */
    ngx_http_smart_commands,               /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_smart_init_process,           /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


#define ngx_http_smart_claim_var(name, field)                                 \
    { ngx_string(name), NULL, ngx_http_smart_variable_str,                    \
      offsetof(ngx_http_smart_ctx_t, field), NGX_HTTP_VAR_NOCACHEABLE, 0 }

static ngx_http_variable_t  ngx_http_smart_vars[] = {

    ngx_http_smart_claim_var("smart_sub", claims.sub),
    ngx_http_smart_claim_var("smart_client_id", claims.client_id),
    ngx_http_smart_claim_var("smart_patient", claims.patient),
    ngx_http_smart_claim_var("smart_fhir_user", claims.fhir_user),
    ngx_http_smart_claim_var("smart_scope", claims.scope),
    ngx_http_smart_claim_var("smart_jti", claims.jti),
    ngx_http_smart_claim_var("smart_iss", claims.iss),
    ngx_http_smart_claim_var("smart_reason", reason),
    ngx_http_smart_claim_var("smart_correlation_id", cid),
    ngx_http_smart_claim_var("smart_resource", resource),
    ngx_http_smart_claim_var("smart_interaction", interaction),

    { ngx_string("smart_decision"), NULL, ngx_http_smart_variable_decision,
      0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("smart_claim_"), NULL, ngx_http_smart_variable_claim,
      0, NGX_HTTP_VAR_NOCACHEABLE|NGX_HTTP_VAR_PREFIX, 0 },

      ngx_http_null_variable
};


static ngx_str_t  ngx_http_smart_default_corr = ngx_string("X-Correlation-ID");


static char *
ngx_http_smart_str_list(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char  *p = conf;

    ngx_str_t     *value;
    ngx_uint_t     i;
    smart_str_t   *s;
    ngx_array_t  **a;

    a = (ngx_array_t **) (p + cmd->offset);

    if (*a == NGX_CONF_UNSET_PTR) {
        *a = ngx_array_create(cf->pool, 2, sizeof(smart_str_t));
        if (*a == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        if (value[i].len == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"%V\" does not take an empty value",
                               &cmd->name);
            return NGX_CONF_ERROR;
        }

        s = ngx_array_push(*a);
        if (s == NULL) {
            return NGX_CONF_ERROR;
        }

        s->data = (const char *) value[i].data;
        s->len = value[i].len;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_smart_algorithms(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_smart_loc_conf_t *slcf = conf;

    unsigned     alg;
    ngx_str_t   *value;
    ngx_uint_t   i;

    if (slcf->algorithms_set) {
        return "is duplicate";
    }

    value = cf->args->elts;
    slcf->algorithms = 0;

    for (i = 1; i < cf->args->nelts; i++) {

        if (value[i].len == 4
            && ngx_strncasecmp(value[i].data, (u_char *) "none", 4) == 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"smart_algorithms\": \"none\" can never be "
                               "enabled");
            return NGX_CONF_ERROR;
        }

        alg = smart_alg_from_name((const char *) value[i].data, value[i].len);
        if (alg == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"smart_algorithms\": unknown algorithm "
                               "\"%V\"", &value[i]);
            return NGX_CONF_ERROR;
        }

        slcf->algorithms |= alg;
    }

    slcf->algorithms_set = 1;

    return NGX_CONF_OK;
}


static char *
ngx_http_smart_leeway(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_smart_loc_conf_t *slcf = conf;

    time_t      t;
    ngx_str_t  *value;

    if (slcf->leeway != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    value = cf->args->elts;

    t = ngx_parse_time(&value[1], 1);

    if (t == (time_t) NGX_ERROR || t > 3600) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"smart_leeway\" takes a time of at most 1h, "
                           "not \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    slcf->leeway = t;

    return NGX_CONF_OK;
}


static char *
ngx_http_smart_claim_name(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char  *p = conf;

    ngx_str_t   *value, *field;
    ngx_uint_t   i;

    field = (ngx_str_t *) (p + cmd->offset);

    if (field->data != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (value[1].len == 0 || value[1].len > 64) {
        return "takes a claim name of 1 to 64 characters";
    }

    for (i = 0; i < value[1].len; i++) {
        if (value[1].data[i] <= 0x20 || value[1].data[i] >= 0x7f) {
            return "takes a claim name of printable ASCII characters";
        }
    }

    /* ngx_conf arguments are NUL-terminated; the core relies on it */
    *field = value[1];

    return NGX_CONF_OK;
}


static char *
ngx_http_smart_fhir_base(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_smart_loc_conf_t *slcf = conf;

    ngx_str_t  *value;

    if (slcf->fhir_base.data != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (value[1].len == 0 || value[1].data[0] != '/') {
        return "takes a URI prefix starting with \"/\"";
    }

    if (ngx_strlchr(value[1].data, value[1].data + value[1].len, '?') != NULL
        || ngx_strlchr(value[1].data, value[1].data + value[1].len, '%')
           != NULL)
    {
        return "takes a plain path prefix without \"?\" or \"%\"";
    }

    slcf->fhir_base = value[1];

    /* "/fhir" and "/fhir/" mean the same base: keep the trailing slash */

    if (value[1].data[value[1].len - 1] != '/') {
        slcf->fhir_base.data = ngx_pnalloc(cf->pool, value[1].len + 1);
        if (slcf->fhir_base.data == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_memcpy(slcf->fhir_base.data, value[1].data, value[1].len);
        slcf->fhir_base.data[value[1].len] = '/';
        slcf->fhir_base.len = value[1].len + 1;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_smart_correlation_header(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_smart_loc_conf_t *slcf = conf;

    ngx_str_t   *value;
    ngx_uint_t   i;

    if (slcf->correlation_header.data != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (value[1].len == 0 || value[1].len > 64) {
        return "takes a header name of 1 to 64 characters";
    }

    for (i = 0; i < value[1].len; i++) {
        if (!ngx_http_smart_isalnum(value[1].data[i]) && value[1].data[i] != '-'
            && value[1].data[i] != '_')
        {
            return "takes a header name of letters, digits, \"-\" and \"_\"";
        }
    }

    slcf->correlation_header = value[1];

    return NGX_CONF_OK;
}


static char *
ngx_http_smart_error_contact(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_smart_loc_conf_t *slcf = conf;

    ngx_str_t  *value;

    if (slcf->error_contact.data != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (value[1].len > 512) {
        return "takes at most 512 characters";
    }

    slcf->error_contact = value[1];

    return NGX_CONF_OK;
}


/*
 * smart_fhir_base_url URL: the absolute base the FHIR server writes its
 * references on ("https://ehr.example/fhir"), for the response check;
 * without it only relative references prove anything.
 */

static char *
ngx_http_smart_fhir_base_url(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_smart_loc_conf_t *slcf = conf;

    u_char     *p, *last;
    ngx_str_t  *value, url;

    if (slcf->fhir_base_url.data != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;
    url = value[1];

    while (url.len > 0 && url.data[url.len - 1] == '/') {
        url.len--;
    }

    if (!((url.len > 8 && ngx_strncmp(url.data, "https://", 8) == 0)
          || (url.len > 7 && ngx_strncmp(url.data, "http://", 7) == 0)))
    {
        return "takes an absolute http:// or https:// URL";
    }

    last = url.data + url.len;

    for (p = url.data; p < last; p++) {
        if (*p <= ' ' || *p >= 0x7f || *p == '?' || *p == '#'
            || *p == '"' || *p == '\\')
        {
            return "takes a URL without query, fragment, spaces or quotes";
        }
    }

    slcf->fhir_base_url = url;

    return NGX_CONF_OK;
}


/* smart_precheck_request URI: an internal location, as smart_jwks_request */

static char *
ngx_http_smart_precheck_request(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_smart_loc_conf_t *slcf = conf;

    ngx_str_t  *value;

    if (slcf->precheck_uri.data != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (value[1].len == 0 || value[1].data[0] != '/'
        || ngx_strlchr(value[1].data, value[1].data + value[1].len, '?')
           != NULL)
    {
        return "takes the URI of a location starting with \"/\", "
               "without a query";
    }

    slcf->precheck_uri = value[1];

    return NGX_CONF_OK;
}


/*
 * smart_require VALUE ...: every value (a complex value: $smart_claim_*,
 * a map of them, ...) must be non-empty and not "0" once the token is
 * verified.  The directive may repeat; a level that has any replaces the
 * inherited ones (as proxy_set_header).
 */

static char *
ngx_http_smart_require(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_smart_loc_conf_t  *slcf = conf;

    ngx_str_t                         *value;
    ngx_uint_t                         i;
    ngx_http_complex_value_t          *cv;
    ngx_http_compile_complex_value_t   ccv;

    value = cf->args->elts;

    if (slcf->require == NGX_CONF_UNSET_PTR) {
        slcf->require = ngx_array_create(cf->pool, 4,
                                         sizeof(ngx_http_complex_value_t));
        if (slcf->require == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    for (i = 1; i < cf->args->nelts; i++) {
        cv = ngx_array_push(slcf->require);
        if (cv == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));
        ccv.cf = cf;
        ccv.value = &value[i];
        ccv.complex_value = cv;

        if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
            return NGX_CONF_ERROR;
        }

        if (cv->lengths == NULL) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"smart_require\": \"%V\" has no variable: "
                               "it would hold for every token or none",
                               &value[i]);
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_smart_operation(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_smart_loc_conf_t *slcf = conf;

    size_t              lens[SMART_POLICY_OP_MAX_TYPES];
    ngx_str_t          *value;
    ngx_uint_t          i, ntypes;
    const char         *err, *types[SMART_POLICY_OP_MAX_TYPES];
    smart_policy_op_t  *op;

    value = cf->args->elts;
    ntypes = cf->args->nelts - 3;

    if (ntypes > SMART_POLICY_OP_MAX_TYPES) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"smart_operation\": at most %d types",
                           SMART_POLICY_OP_MAX_TYPES);
        return NGX_CONF_ERROR;
    }

    for (i = 0; i < ntypes; i++) {
        types[i] = (const char *) value[3 + i].data;
        lens[i] = value[3 + i].len;
    }

    if (slcf->operations == NGX_CONF_UNSET_PTR) {
        slcf->operations = ngx_array_create(cf->pool, 4,
                                            sizeof(smart_policy_op_t));
        if (slcf->operations == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    op = ngx_array_push(slcf->operations);
    if (op == NULL) {
        return NGX_CONF_ERROR;
    }

    err = NULL;

    if (smart_policy_op_parse((const char *) value[1].data, value[1].len,
                              (const char *) value[2].data, value[2].len,
                              types, lens, ntypes, op, &err)
        != 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"smart_operation\": %s",
                           err ? err : "invalid arguments");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_smart_check_body_max(ngx_conf_t *cf, void *post, void *data)
{
    size_t  *sp = data;

    if (*sp < 1024 || *sp > 64 * 1024 * 1024) {
        return "takes a size from 1k to 64m";
    }

    return NGX_CONF_OK;
}


static void *
ngx_http_smart_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_smart_main_conf_t  *smcf;

    smcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_smart_main_conf_t));
    if (smcf == NULL) {
        return NULL;
    }

    if (ngx_array_init(&smcf->jwks_srcs, cf->pool, 2,
                       sizeof(ngx_http_smart_jwks_src_t))
        != NGX_OK)
    {
        return NULL;
    }

    return smcf;
}


static void *
ngx_http_smart_create_srv_conf(ngx_conf_t *cf)
{
    ngx_http_smart_srv_conf_t  *sscf;

    sscf = ngx_pcalloc(cf->pool, sizeof(ngx_http_smart_srv_conf_t));
    if (sscf == NULL) {
        return NULL;
    }

    return sscf;
}


static void *
ngx_http_smart_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_smart_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_smart_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     conf->fhir_base = { 0, NULL };
     *     conf->keyset = NULL;
     *     conf->has_public = 0;
     *     conf->has_hmac = 0;
     *     conf->jwks_uri = { 0, NULL };
     *     conf->algorithms_set = 0;
     *     conf->scope_claim = { 0, NULL };
     *     conf->patient_claim = { 0, NULL };
     *     conf->correlation_header = { 0, NULL };
     *     conf->error_contact = { 0, NULL };
     */

    conf->enable = NGX_CONF_UNSET;
    conf->issuers = NGX_CONF_UNSET_PTR;
    conf->audiences = NGX_CONF_UNSET_PTR;
    conf->key_material = NGX_CONF_UNSET_PTR;
    conf->jwks_index = -1;
    conf->jwks_refresh = NGX_CONF_UNSET_MSEC;
    conf->leeway = NGX_CONF_UNSET;
    conf->explain = NGX_CONF_UNSET;
    conf->forward_token = NGX_CONF_UNSET;
    conf->errors = NGX_CONF_UNSET;
    conf->body_max = NGX_CONF_UNSET_SIZE;
    conf->response_check = NGX_CONF_UNSET_UINT;
    conf->response_check_max = NGX_CONF_UNSET_SIZE;
    conf->precheck_max = NGX_CONF_UNSET_UINT;
    conf->patient_search = NGX_CONF_UNSET_UINT;
    conf->operations = NGX_CONF_UNSET_PTR;
    conf->require = NGX_CONF_UNSET_PTR;

    return conf;
}


static char *
ngx_http_smart_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_smart_loc_conf_t *prev = parent;
    ngx_http_smart_loc_conf_t *conf = child;

    ngx_http_smart_srv_conf_t  *sscf;

    ngx_conf_merge_value(conf->enable, prev->enable, 0);
    ngx_conf_merge_str_value(conf->fhir_base, prev->fhir_base, "/");
    ngx_conf_merge_ptr_value(conf->issuers, prev->issuers, NULL);
    ngx_conf_merge_ptr_value(conf->audiences, prev->audiences, NULL);

    ngx_http_smart_merge_keys(prev, conf);

    ngx_conf_merge_sec_value(conf->leeway, prev->leeway, 60);
    ngx_conf_merge_str_value(conf->scope_claim, prev->scope_claim, "scope");
    ngx_conf_merge_str_value(conf->patient_claim, prev->patient_claim,
                             "patient");
    ngx_conf_merge_str_value(conf->error_contact, prev->error_contact, "");
    ngx_conf_merge_value(conf->explain, prev->explain, 0);
    ngx_conf_merge_value(conf->forward_token, prev->forward_token, 1);
    ngx_conf_merge_value(conf->errors, prev->errors, 1);
    ngx_conf_merge_size_value(conf->body_max, prev->body_max, 1024 * 1024);
    ngx_conf_merge_uint_value(conf->patient_search, prev->patient_search,
                              SMART_PATIENT_SEARCH_NARROW);
    ngx_conf_merge_ptr_value(conf->operations, prev->operations, NULL);
    ngx_conf_merge_ptr_value(conf->require, prev->require, NULL);
    ngx_conf_merge_uint_value(conf->response_check, prev->response_check,
                              SMART_RESPONSE_CHECK_ON);
    ngx_conf_merge_size_value(conf->response_check_max,
                              prev->response_check_max, 1024 * 1024);
    ngx_conf_merge_str_value(conf->precheck_uri, prev->precheck_uri, "");
    ngx_conf_merge_str_value(conf->fhir_base_url, prev->fhir_base_url, "");
    ngx_conf_merge_uint_value(conf->precheck_max, prev->precheck_max, 20);

    conf->policy_conf.patient_search =
                               (smart_patient_search_e) conf->patient_search;
    conf->policy_conf.body_max = conf->body_max;
    conf->policy_conf.ops = conf->operations ? conf->operations->elts : NULL;
    conf->policy_conf.nops = conf->operations ? conf->operations->nelts : 0;
    conf->policy_conf.no_granted_by = 1;
    conf->policy_conf.response_check =
                               (smart_response_check_e) conf->response_check;
    /* the response filter hands the decision's restrictions to the check */
    conf->policy_conf.restrictions_checked = 1;
    conf->policy_conf.precheck = conf->precheck_uri.len
                                 ? SMART_PRECHECK_AVAILABLE
                                 : SMART_PRECHECK_NONE;
    conf->policy_conf.precheck_max = conf->precheck_max;

    if (ngx_http_smart_merge_correlation(cf, prev, conf) != NGX_CONF_OK
        || ngx_http_smart_jwks_register(cf, conf) != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (conf->enable) {
        if (ngx_http_smart_check_conf(cf, conf) != NGX_CONF_OK) {
            return NGX_CONF_ERROR;
        }

        sscf = ngx_http_conf_get_module_srv_conf(cf, ngx_http_smart_module);
        sscf->has_smart = 1;

        ngx_http_smart_body_in_memory(cf, conf);
    }

    return ngx_http_smart_derive_policy(cf, conf);
}


/*
 * Key sources are inherited as one group: a context that names any key
 * source uses only its own, so that a location can never end up mixing
 * its keys with keys of an enclosing context it did not ask for.  The
 * default algorithms follow the keys.
 */

static void
ngx_http_smart_merge_keys(ngx_http_smart_loc_conf_t *prev,
    ngx_http_smart_loc_conf_t *conf)
{
    if (conf->keyset == NULL && conf->jwks_uri.data == NULL) {
        conf->keyset = prev->keyset;
        conf->has_public = prev->has_public;
        conf->has_hmac = prev->has_hmac;
        conf->jwks_uri = prev->jwks_uri;
        conf->key_material = prev->key_material;
    }

    if (conf->key_material == NGX_CONF_UNSET_PTR) {
        conf->key_material = NULL;
    }
    ngx_conf_merge_msec_value(conf->jwks_refresh, prev->jwks_refresh,
                              600000);

    if (!conf->algorithms_set) {
        if (prev->algorithms_set) {
            conf->algorithms = prev->algorithms;
            conf->algorithms_set = 1;

        } else {
            conf->algorithms = conf->has_hmac ? SMART_ALG_HS_ALL
                                              : SMART_ALG_DEFAULT;
        }
    }
}


/* The correlation header's name, and its lowercase form for lookups. */

static char *
ngx_http_smart_merge_correlation(ngx_conf_t *cf,
    ngx_http_smart_loc_conf_t *prev, ngx_http_smart_loc_conf_t *conf)
{
    if (conf->correlation_header.data == NULL) {
        conf->correlation_header = prev->correlation_header.data
                                   ? prev->correlation_header
                                   : ngx_http_smart_default_corr;
    }

    conf->correlation_lc.len = conf->correlation_header.len;
    conf->correlation_lc.data = ngx_pnalloc(cf->pool,
                                            conf->correlation_header.len);
    if (conf->correlation_lc.data == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_strlow(conf->correlation_lc.data, conf->correlation_header.data,
               conf->correlation_header.len);

    return NGX_CONF_OK;
}


/*
 * Request bodies the policy inspects must stay in memory: reading one
 * back from a temporary file would block the worker.  So a smart
 * location raises the core module's client_body_buffer_size of the same
 * location to smart_body_max (NGINX allocates only what a request's body
 * needs; docs/directives.md, smart_body_max).  This runs at configuration
 * time, after the core module merged the location, and touches only that
 * location's value.
 */

static void
ngx_http_smart_body_in_memory(ngx_conf_t *cf, ngx_http_smart_loc_conf_t *conf)
{
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (clcf->client_body_buffer_size < conf->body_max) {
        clcf->client_body_buffer_size = conf->body_max;
    }
}


/* nginx -t refuses incomplete or contradictory configuration. */

static char *
ngx_http_smart_check_conf(ngx_conf_t *cf, ngx_http_smart_loc_conf_t *conf)
{
    if (conf->issuers == NULL || conf->issuers->nelts == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"smart on\" requires \"smart_issuer\"");
        return NGX_CONF_ERROR;
    }

    if (conf->audiences == NULL || conf->audiences->nelts == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"smart on\" requires \"smart_audience\"");
        return NGX_CONF_ERROR;
    }

    if (conf->keyset == NULL && conf->jwks_uri.data == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"smart on\" requires a key source: "
                           "\"smart_jwks_file\", \"smart_key_file\", "
                           "\"smart_jwks_request\" or "
                           "\"smart_hmac_secret_file\"");
        return NGX_CONF_ERROR;
    }

    if (conf->has_hmac
        && (conf->has_public || conf->jwks_uri.data != NULL))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"smart_hmac_secret_file\" cannot be combined "
                           "with public keys (\"smart_jwks_file\", "
                           "\"smart_key_file\", \"smart_jwks_request\") "
                           "in one context");
        return NGX_CONF_ERROR;
    }

    if (conf->has_hmac && (conf->algorithms & ~SMART_ALG_HS_ALL)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"smart_algorithms\" lists RS/ES algorithms but "
                           "the only key is \"smart_hmac_secret_file\"");
        return NGX_CONF_ERROR;
    }

    if (!conf->has_hmac && (conf->algorithms & SMART_ALG_HS_ALL)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"smart_algorithms\": an HS algorithm is usable "
                           "only with \"smart_hmac_secret_file\"");
        return NGX_CONF_ERROR;
    }

    if (conf->algorithms == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"smart_algorithms\" is empty");
        return NGX_CONF_ERROR;
    }

    if (conf->keyset != NULL && conf->jwks_uri.data == NULL
        && (smart_keyset_algs(conf->keyset) & conf->algorithms) == 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "no key of this context can verify any algorithm "
                           "in \"smart_algorithms\"");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/*
 * Builds the core's policy and the fingerprint that scopes token-cache
 * entries: a token verified under one policy (keys, issuers, audiences,
 * algorithms, claim names) is never a cache hit under another.
 */

static char *
ngx_http_smart_derive_policy(ngx_conf_t *cf, ngx_http_smart_loc_conf_t *conf)
{
    unsigned int   n;
    ngx_uint_t     i;
    ngx_str_t     *m;
    smart_str_t   *s;
    EVP_MD_CTX    *md;
    u_char         alg[sizeof(ngx_uint_t)];

    ngx_memzero(&conf->policy, sizeof(smart_jwt_policy_t));

    conf->policy.algorithms = (unsigned) conf->algorithms;
    conf->policy.leeway = (long) conf->leeway;
    conf->policy.scope_claim = (const char *) conf->scope_claim.data;
    conf->policy.patient_claim = (const char *) conf->patient_claim.data;

    if (conf->issuers != NULL) {
        conf->policy.issuers = conf->issuers->elts;
        conf->policy.nissuers = conf->issuers->nelts;
    }

    if (conf->audiences != NULL) {
        conf->policy.audiences = conf->audiences->elts;
        conf->policy.naudiences = conf->audiences->nelts;
    }

    md = EVP_MD_CTX_new();
    if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(md);
        return NGX_CONF_ERROR;
    }

#define ngx_http_smart_fp_add(d, l)                                           \
    (void) EVP_DigestUpdate(md, "\0\0\0\0", 4);                               \
    (void) EVP_DigestUpdate(md, d, l)

    ngx_memcpy(alg, &conf->algorithms, sizeof(ngx_uint_t));
    ngx_http_smart_fp_add(alg, sizeof(alg));
    ngx_http_smart_fp_add(conf->scope_claim.data, conf->scope_claim.len);
    ngx_http_smart_fp_add(conf->patient_claim.data, conf->patient_claim.len);
    ngx_http_smart_fp_add(conf->jwks_uri.data, conf->jwks_uri.len);

    for (i = 0; i < conf->policy.nissuers; i++) {
        s = (smart_str_t *) &conf->policy.issuers[i];
        ngx_http_smart_fp_add("iss", 3);
        ngx_http_smart_fp_add(s->data, s->len);
    }

    for (i = 0; i < conf->policy.naudiences; i++) {
        s = (smart_str_t *) &conf->policy.audiences[i];
        ngx_http_smart_fp_add("aud", 3);
        ngx_http_smart_fp_add(s->data, s->len);
    }

    if (conf->key_material != NULL) {
        m = conf->key_material->elts;
        for (i = 0; i < conf->key_material->nelts; i++) {
            ngx_http_smart_fp_add("key", 3);
            ngx_http_smart_fp_add(m[i].data, m[i].len);
        }
    }

#undef ngx_http_smart_fp_add

    n = NGX_HTTP_SMART_FP_LEN;
    if (EVP_DigestFinal_ex(md, conf->fp, &n) != 1) {
        EVP_MD_CTX_free(md);
        return NGX_CONF_ERROR;
    }

    EVP_MD_CTX_free(md);

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_smart_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_smart_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_smart_variable_str(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_str_t             *s;
    ngx_http_smart_ctx_t  *ctx;

    ctx = ngx_http_smart_get_ctx(r->main);
    if (ctx == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    s = (ngx_str_t *) ((char *) ctx + data);

    if (s->data == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    v->len = s->len;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;
    v->data = s->data;

    return NGX_OK;
}


static ngx_int_t
ngx_http_smart_variable_decision(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_smart_ctx_t  *ctx;

    ctx = ngx_http_smart_get_ctx(r->main);
    if (ctx == NULL || (!ctx->allowed && !ctx->denied)) {
        v->not_found = 1;
        return NGX_OK;
    }

    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    if (ctx->denied) {
        v->len = sizeof("deny") - 1;
        v->data = (u_char *) "deny";

    } else {
        v->len = sizeof("allow") - 1;
        v->data = (u_char *) "allow";
    }

    return NGX_OK;
}


/*
 * $smart_claim_NAME: any top-level string or number claim of the verified
 * token.  The payload is decoded lazily, once per request, only when such a
 * variable is used; on a token-cache hit it comes from the token itself,
 * whose integrity the cache key (its SHA-256) already vouches for.
 */

static ngx_int_t
ngx_http_smart_variable_claim(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_str_t *name = (ngx_str_t *) data;

    u_char                *p, *seg, *dot;
    size_t                 len, plen;
    ngx_str_t              key;
    ngx_http_smart_ctx_t  *ctx;
    char                   text[SMART_CLAIM_TEXT_MAX + 1];

    v->not_found = 1;

    ctx = ngx_http_smart_get_ctx(r->main);
    if (ctx == NULL || !ctx->verified || ctx->token.len == 0) {
        return NGX_OK;
    }

    len = sizeof("smart_claim_") - 1;
    if (name->len <= len || name->len - len > SMART_CLAIM_NAME_MAX) {
        return NGX_OK;
    }

    key.len = name->len - len;
    key.data = ngx_pnalloc(r->pool, key.len + 1);
    if (key.data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(key.data, name->data + len, key.len);
    key.data[key.len] = '\0';

    if (ctx->payload == NULL) {
        seg = ngx_strlchr(ctx->token.data, ctx->token.data + ctx->token.len,
                          '.');
        if (seg == NULL) {
            return NGX_OK;
        }

        seg++;
        dot = ngx_strlchr(seg, ctx->token.data + ctx->token.len, '.');
        if (dot == NULL) {
            return NGX_OK;
        }

        plen = (size_t) (dot - seg);
        p = ngx_pnalloc(r->pool, plen);
        if (p == NULL) {
            return NGX_ERROR;
        }

        if (smart_b64url_decode((const char *) seg, plen, p, plen, &len) != 0) {
            return NGX_OK;
        }

        ctx->payload = json_loadb((const char *) p, len,
                                  JSON_REJECT_DUPLICATES, NULL);
        if (ctx->payload == NULL || !json_is_object(ctx->payload)) {
            return NGX_OK;
        }
    }

    if (smart_claim_text(ctx->payload, (const char *) key.data, key.len,
                         text, sizeof(text), &len)
        != 0)
    {
        return NGX_OK;
    }

    v->data = ngx_pnalloc(r->pool, len + 1);
    if (v->data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(v->data, text, len);
    v->len = len;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    return NGX_OK;
}


static ngx_int_t
ngx_http_smart_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt         *h;
    ngx_http_core_main_conf_t   *cmcf;
    ngx_http_smart_main_conf_t  *smcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_ACCESS_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_smart_access_handler;

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_PRECONTENT_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_smart_subrequest_handler;

    /* the key sets fetched by subrequest, shared by the workers: every
       location is merged by now, so every source is known */

    smcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_smart_module);

    if (ngx_http_smart_jwks_shared_zone(cf, smcf->jwks_srcs.nelts)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_smart_filter_init(cf);
}


/*
 * NGINX runs no access phase for subrequests, so a subrequest into a
 * "smart on" location (auth_request, mirror, an SSI include, another
 * module's fetch) would reach the upstream without any token check.  It is
 * refused here, in a phase subrequests do run, except the module's own
 * JWKS fetches.
 */

static ngx_int_t
ngx_http_smart_subrequest_handler(ngx_http_request_t *r)
{
    ngx_http_smart_loc_conf_t  *slcf;

    if (r == r->main) {
        return NGX_DECLINED;
    }

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_smart_module);

    if (!slcf->enable || ngx_http_smart_jwks_subrequest(r)
        || ngx_http_smart_precheck_subrequest(r))
    {
        return NGX_DECLINED;
    }

    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "smart: request-invalid: subrequest to \"%V\" refused: "
                  "subrequests skip the access phase, so no token was "
                  "checked", &r->uri);

    return NGX_HTTP_FORBIDDEN;
}


static ngx_int_t
ngx_http_smart_init_process(ngx_cycle_t *cycle)
{
    if (ngx_http_smart_cid_init_process(cycle) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_smart_keys_init_process(cycle);
}
