
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * ngx_smart_module policy core: an audit record as a FHIR R4 AuditEvent
 * (IHE BALP RESTful access; docs/audit.md), for smart-audit-export.
 * Plain C: no NGINX headers.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "smart_audit_record_private.h"


static json_t *
smart_audit_jstr(const smart_audit_record_t *rec, smart_audit_field_e f)
{
    return json_stringn(rec->f[f].len ? rec->f[f].data : "", rec->f[f].len);
}


static json_t *
smart_audit_coding(const char *system, const char *code, const char *display)
{
    json_t  *c;

    c = json_object();
    if (c == NULL) {
        return NULL;
    }

    json_object_set_new(c, "system", json_string(system));
    json_object_set_new(c, "code", json_string(code));

    if (display != NULL) {
        json_object_set_new(c, "display", json_string(display));
    }

    return c;
}


static json_t *
smart_audit_codeable(const char *system, const char *code,
    const char *display)
{
    json_t  *cc, *arr;

    cc = json_object();
    arr = json_array();

    if (cc == NULL || arr == NULL) {
        json_decref(cc);
        json_decref(arr);
        return NULL;
    }

    json_array_append_new(arr, smart_audit_coding(system, code, display));
    json_object_set_new(cc, "coding", arr);

    return cc;
}


static json_t *
smart_audit_reference(const char *prefix, const smart_audit_str_t *id)
{
    char    *buf;
    size_t   plen;
    json_t  *ref;

    plen = strlen(prefix);
    buf = malloc(plen + id->len + 1);
    if (buf == NULL) {
        return NULL;
    }

    memcpy(buf, prefix, plen);

    if (id->len != 0) {
        memcpy(buf + plen, id->data, id->len);
    }

    ref = json_object();
    if (ref != NULL) {
        json_object_set_new(ref, "reference",
                            json_stringn(buf, plen + id->len));
    }

    free(buf);

    return ref;
}


static json_t *
smart_audit_identifier(const smart_audit_str_t *system,
    const smart_audit_str_t *value)
{
    json_t  *who, *ident;

    who = json_object();
    ident = json_object();

    if (who == NULL || ident == NULL) {
        json_decref(who);
        json_decref(ident);
        return NULL;
    }

    if (system != NULL && system->len != 0) {
        json_object_set_new(ident, "system",
                            json_stringn(system->data, system->len));
    }

    json_object_set_new(ident, "value",
                        json_stringn(value->len ? value->data : "",
                                     value->len));
    json_object_set_new(who, "identifier", ident);

    return who;
}


static const char *
smart_audit_profile(const smart_audit_record_t *rec)
{
    int          patient;
    const char  *a;

    patient = rec->f[SMART_AUDIT_F_PATIENT].len != 0;
    a = rec->f[SMART_AUDIT_F_ACTION].len ? rec->f[SMART_AUDIT_F_ACTION].data
                                         : "E";

    switch (a[0]) {
    case 'C':
        return patient ? "IHE.BasicAudit.PatientCreate"
                       : "IHE.BasicAudit.Create";
    case 'R':
        return patient ? "IHE.BasicAudit.PatientRead" : "IHE.BasicAudit.Read";
    case 'U':
        return patient ? "IHE.BasicAudit.PatientUpdate"
                       : "IHE.BasicAudit.Update";
    case 'D':
        return patient ? "IHE.BasicAudit.PatientDelete"
                       : "IHE.BasicAudit.Delete";
    default:
        return patient ? "IHE.BasicAudit.PatientQuery"
                       : "IHE.BasicAudit.Query";
    }
}


static int
smart_audit_add_agents(json_t *ev, const smart_audit_record_t *rec)
{
    json_t                   *agents, *app, *user, *net, *who;
    const smart_audit_str_t  *sub, *fu;

    agents = json_array();
    app = json_object();
    user = json_object();
    net = json_object();

    if (agents == NULL || app == NULL || user == NULL || net == NULL) {
        goto failed;
    }

    /* the client application, with the network address it came from */

    json_object_set_new(app, "type",
        smart_audit_codeable("http://dicom.nema.org/resources/ontology/DCM",
                             "110150", "Application"));
    who = smart_audit_identifier(NULL, &rec->f[SMART_AUDIT_F_CLIENT_ID]);
    if (who == NULL) {
        goto failed;
    }

    json_object_set_new(app, "who", who);
    json_object_set_new(app, "requestor", json_false());
    json_object_set_new(net, "address",
                        smart_audit_jstr(rec, SMART_AUDIT_F_REMOTE_ADDR));
    json_object_set_new(net, "type", json_string("2"));
    json_object_set_new(app, "network", net);
    net = NULL;
    json_array_append_new(agents, app);
    app = NULL;

    /* the user: fhirUser when the token names one, else iss + sub */

    json_object_set_new(user, "type",
        smart_audit_codeable(
            "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
            "IRCP", "information recipient"));

    fu = &rec->f[SMART_AUDIT_F_FHIR_USER];
    sub = &rec->f[SMART_AUDIT_F_SUB];

    if (fu->len != 0) {
        who = smart_audit_reference("", fu);
    } else {
        who = smart_audit_identifier(&rec->f[SMART_AUDIT_F_ISS], sub);
    }

    if (who == NULL) {
        goto failed;
    }

    if (fu->len != 0 && sub->len != 0) {
        json_object_set_new(user, "altId", json_stringn(sub->data, sub->len));
    }

    json_object_set_new(user, "who", who);
    json_object_set_new(user, "requestor", json_true());
    json_array_append_new(agents, user);

    json_object_set_new(ev, "agent", agents);

    return 0;

failed:

    json_decref(agents);
    json_decref(app);
    json_decref(user);
    json_decref(net);

    return -1;
}


/* the patient the token named, as Patient/<patient> */
static int
smart_audit_entity_patient(json_t *entities, const smart_audit_record_t *rec)
{
    json_t  *e, *what;

    if (rec->f[SMART_AUDIT_F_PATIENT].len == 0) {
        return 0;
    }

    e = json_object();
    what = smart_audit_reference("Patient/", &rec->f[SMART_AUDIT_F_PATIENT]);

    if (e == NULL || what == NULL) {
        json_decref(e);
        json_decref(what);
        return -1;
    }

    json_object_set_new(e, "what", what);
    json_object_set_new(e, "type", smart_audit_coding(
        "http://terminology.hl7.org/CodeSystem/audit-entity-type",
        "1", "Person"));
    json_object_set_new(e, "role", smart_audit_coding(
        "http://terminology.hl7.org/CodeSystem/object-role",
        "1", "Patient"));
    json_array_append_new(entities, e);

    return 0;
}


/* {"reference":"<type>"} or {"reference":"<type>/<id>"} */
static json_t *
smart_audit_resource_ref(const smart_audit_str_t *res,
    const smart_audit_str_t *id)
{
    char    *ref;
    size_t   rlen, ilen;
    json_t  *what;

    rlen = res->len;
    ilen = id->len;
    ref = malloc(rlen + 1 + ilen + 1);

    if (ref == NULL) {
        return NULL;
    }

    memcpy(ref, res->data, rlen);

    if (ilen != 0) {
        ref[rlen] = '/';
        memcpy(ref + rlen + 1, id->data, ilen);
        rlen += 1 + ilen;
    }

    what = json_object();
    if (what != NULL) {
        json_object_set_new(what, "reference", json_stringn(ref, rlen));
    }

    free(ref);

    return what;
}


/* the requested resource (type, or type/id), with the query */
static int
smart_audit_entity_resource(json_t *entities,
    const smart_audit_record_t *rec)
{
    int                       query;
    json_t                   *e, *what;
    const smart_audit_str_t  *res;

    res = &rec->f[SMART_AUDIT_F_RESOURCE];

    if (res->len == 0 && rec->f[SMART_AUDIT_F_QUERY].len == 0) {
        return 0;
    }

    e = json_object();
    if (e == NULL) {
        return -1;
    }

    if (res->len != 0) {
        what = smart_audit_resource_ref(res, &rec->f[SMART_AUDIT_F_ID]);

        if (what == NULL) {
            json_decref(e);
            return -1;
        }

        json_object_set_new(e, "what", what);
    }

    query = rec->f[SMART_AUDIT_F_ACTION].len
            && rec->f[SMART_AUDIT_F_ACTION].data[0] == 'E';

    json_object_set_new(e, "type", smart_audit_coding(
        "http://terminology.hl7.org/CodeSystem/audit-entity-type",
        "2", "System Object"));
    json_object_set_new(e, "role", smart_audit_coding(
        "http://terminology.hl7.org/CodeSystem/object-role",
        query ? "24" : "4", query ? "Query" : "Domain Resource"));

    if (rec->f[SMART_AUDIT_F_QUERY].len != 0) {
        json_object_set_new(e, "query",
                            smart_audit_jstr(rec, SMART_AUDIT_F_QUERY));
    }

    json_array_append_new(entities, e);

    return 0;
}


/* the correlation ID, as BALP's transaction (X-Request-Id) entity */
static int
smart_audit_entity_cid(json_t *entities, const smart_audit_record_t *rec)
{
    json_t  *e, *what, *ident;

    e = json_object();
    what = json_object();
    ident = json_object();

    if (e == NULL || what == NULL || ident == NULL) {
        json_decref(e);
        json_decref(what);
        json_decref(ident);
        return -1;
    }

    json_object_set_new(ident, "value",
                        smart_audit_jstr(rec, SMART_AUDIT_F_CID));
    json_object_set_new(what, "identifier", ident);
    json_object_set_new(e, "what", what);
    json_object_set_new(e, "type", smart_audit_coding(
        "https://profiles.ihe.net/ITI/BALP/CodeSystem/BasicAuditEntityType",
        "XrequestId", "X-Request-Id"));
    json_array_append_new(entities, e);

    return 0;
}


static int
smart_audit_add_entities(json_t *ev, const smart_audit_record_t *rec)
{
    json_t  *entities;

    entities = json_array();
    if (entities == NULL) {
        return -1;
    }

    if (smart_audit_entity_patient(entities, rec) != 0
        || smart_audit_entity_resource(entities, rec) != 0
        || smart_audit_entity_cid(entities, rec) != 0)
    {
        json_decref(entities);
        return -1;
    }

    json_object_set_new(ev, "entity", entities);

    return 0;
}


/* worker + seq: unique, stable across exports of the same record */
static int
smart_audit_add_id(json_t *ev, const smart_audit_record_t *rec)
{
    char    *id;
    size_t   wlen, slen;

    wlen = rec->f[SMART_AUDIT_F_WORKER].len;
    slen = rec->f[SMART_AUDIT_F_SEQ].len;
    id = malloc(wlen + 1 + slen + 1);
    if (id == NULL) {
        return -1;
    }

    if (wlen != 0) {
        memcpy(id, rec->f[SMART_AUDIT_F_WORKER].data, wlen);
    }

    id[wlen] = '-';
    if (slen != 0) {
        memcpy(id + wlen + 1, rec->f[SMART_AUDIT_F_SEQ].data, slen);
    }

    json_object_set_new(ev, "id", json_stringn(id, wlen + 1 + slen));
    free(id);

    return 0;
}


/* meta.profile: the BALP profile of the action, with or without patient */
static int
smart_audit_add_profile(json_t *ev, const smart_audit_record_t *rec)
{
    char     profile[160];
    json_t  *meta, *profiles;

    meta = json_object();
    profiles = json_array();
    if (meta == NULL || profiles == NULL) {
        json_decref(meta);
        json_decref(profiles);
        return -1;
    }

    snprintf(profile, sizeof(profile),
             "https://profiles.ihe.net/ITI/BALP/StructureDefinition/%s",
             smart_audit_profile(rec));
    json_array_append_new(profiles, json_string(profile));
    json_object_set_new(meta, "profile", profiles);
    json_object_set_new(ev, "meta", meta);

    return 0;
}


/* type "rest" and the FHIR interaction as the subtype */
static int
smart_audit_add_type(json_t *ev, const smart_audit_record_t *rec)
{
    json_t  *subtype;

    json_object_set_new(ev, "type", smart_audit_coding(
        "http://terminology.hl7.org/CodeSystem/audit-event-type", "rest",
        "RESTful Operation"));

    subtype = json_array();
    if (subtype == NULL) {
        return -1;
    }

    json_array_append_new(subtype, json_object());
    json_object_set_new(json_array_get(subtype, 0), "system",
                        json_string("http://hl7.org/fhir/restful-interaction"));
    json_object_set_new(json_array_get(subtype, 0), "code",
                        rec->f[SMART_AUDIT_F_INTERACTION].len
                        ? smart_audit_jstr(rec, SMART_AUDIT_F_INTERACTION)
                        : json_string("unknown"));
    json_object_set_new(ev, "subtype", subtype);

    return 0;
}


/* source: the tenant as the site, the gateway as the observer */
static int
smart_audit_add_source(json_t *ev, const smart_audit_record_t *rec,
    const char *observer)
{
    json_t  *source, *obs, *types;

    source = json_object();
    obs = json_object();
    types = json_array();
    if (source == NULL || obs == NULL || types == NULL) {
        json_decref(source);
        json_decref(obs);
        json_decref(types);
        return -1;
    }

    if (rec->f[SMART_AUDIT_F_TENANT].len != 0) {
        json_object_set_new(source, "site",
                            smart_audit_jstr(rec, SMART_AUDIT_F_TENANT));
    }

    json_object_set_new(obs, "display",
                        json_string(observer ? observer : "ngx_smart_module"));
    json_object_set_new(source, "observer", obs);
    json_array_append_new(types, smart_audit_coding(
        "http://terminology.hl7.org/CodeSystem/security-source-type", "3",
        "Web Server"));
    json_object_set_new(source, "type", types);
    json_object_set_new(ev, "source", source);

    return 0;
}


char *
smart_audit_auditevent(const smart_audit_record_t *rec, const char *observer)
{
    char        *out;
    json_t      *ev;
    const char  *action;

    ev = json_object();
    if (ev == NULL) {
        return NULL;
    }

    out = NULL;

    json_object_set_new(ev, "resourceType", json_string("AuditEvent"));

    if (smart_audit_add_id(ev, rec) != 0
        || smart_audit_add_profile(ev, rec) != 0
        || smart_audit_add_type(ev, rec) != 0)
    {
        goto done;
    }

    action = rec->f[SMART_AUDIT_F_ACTION].len ? NULL : "E";
    json_object_set_new(ev, "action",
                        action ? json_string(action)
                               : smart_audit_jstr(rec, SMART_AUDIT_F_ACTION));
    json_object_set_new(ev, "recorded",
                        smart_audit_jstr(rec, SMART_AUDIT_F_TS));
    json_object_set_new(ev, "outcome",
                        smart_audit_jstr(rec, SMART_AUDIT_F_OUTCOME));

    if (rec->f[SMART_AUDIT_F_REASON].len != 0
        && !smart_audit_is(rec->f[SMART_AUDIT_F_REASON].data,
                           rec->f[SMART_AUDIT_F_REASON].len, "ok"))
    {
        json_object_set_new(ev, "outcomeDesc",
                            smart_audit_jstr(rec, SMART_AUDIT_F_REASON));
    }

    if (smart_audit_add_agents(ev, rec) != 0
        || smart_audit_add_source(ev, rec, observer) != 0
        || smart_audit_add_entities(ev, rec) != 0)
    {
        goto done;
    }

    out = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER);

done:

    json_decref(ev);

    return out;
}
