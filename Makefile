# ngx_smart_module build, test and tooling entry points.
#
#   make            module (.so) + unit tests + tools
#   make test       unit tests, fuzzers, t/ suite (dynamic module, again
#                   under ASan+UBSan, and a static build), e2e tests
#   make deps       install build and test dependencies (Debian 12;
#                   scripts/install-deps build|deb|test|demo for fewer)
#   make deb        Debian packages in build/deb (test-deb: install, check,
#                   purge); make install [DESTDIR= PREFIX=] (docs/install.md)
#   make demo       start the lab (sandbox/) and run the guided tour
#   make demo-stop  stop the lab

NGINX_SRC     ?= /usr/share/nginx/src
NGINX_BIN     ?= /usr/sbin/nginx
BUILD         ?= build
CC            ?= cc

WARN          := -Wall -Wextra -Werror
# Hardened build (docs/building.md): Debian's dpkg-buildflags with
# hardening=+all (stack protector, _FORTIFY_SOURCE, format checks, relro,
# now); the same set where dpkg-buildflags is absent.  The module is -fPIC
# (NGINX builds dynamic modules so), the tools PIE (gcc's default on Debian).
# HARDEN=0 builds without them (to measure what they cost).
HARDEN        ?= 1
HARDEN_ENV    := DEB_BUILD_MAINT_OPTIONS=hardening=+all
HARDEN_CFLAGS ?= $(strip $(shell $(HARDEN_ENV) dpkg-buildflags --get CPPFLAGS \
                     2>/dev/null) $(shell $(HARDEN_ENV) dpkg-buildflags \
                     --get CFLAGS 2>/dev/null))
HARDEN_LDFLAGS ?= $(strip $(shell $(HARDEN_ENV) dpkg-buildflags --get LDFLAGS \
                     2>/dev/null))
ifeq ($(HARDEN),0)
HARDEN_CFLAGS :=
HARDEN_LDFLAGS :=
else ifeq ($(HARDEN_CFLAGS),)
HARDEN_CFLAGS := -g -O2 -D_FORTIFY_SOURCE=2 -fstack-protector-strong \
                 -Wformat -Werror=format-security
endif
ifneq ($(HARDEN),0)
ifeq ($(HARDEN_LDFLAGS),)
HARDEN_LDFLAGS := -Wl,-z,relro -Wl,-z,now
endif
endif
CORE_CFLAGS   := -std=c99 -D_POSIX_C_SOURCE=200809L $(HARDEN_CFLAGS) -O2 -g \
                 $(WARN) -Ingx_smart_module
CORE_LIBS     := -ljansson -lcrypto
SAN_FLAGS     := -fsanitize=address,undefined -fno-omit-frame-pointer \
                 -fno-sanitize-recover=undefined

CORE_SRCS     := $(sort $(wildcard ngx_smart_module/smart_*.c))
CORE_HDRS     := $(wildcard ngx_smart_module/smart_*.h)
GLUE_SRCS     := $(wildcard ngx_smart_module/ngx_http_smart_*.c) \
                 $(wildcard ngx_smart_module/ngx_http_smart_*.h)
UNIT_SRCS     := $(sort $(wildcard tests/test_*.c))
UNIT_BINS     := $(patsubst tests/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))

MODULE        := $(BUILD)/nginx/objs/ngx_http_smart_module.so
MODULE_SAN    := $(BUILD)/nginx-san/objs/ngx_http_smart_module.so
# NGINX 1.22.1 with the module compiled in (--add-module), from Debian's
# source package (scripts/fetch-nginx-src)
NGINX_STATIC  := $(BUILD)/nginx-static/objs/nginx

.PHONY: all module module-san module-static unit test test-unit test-t \
        test-t-san test-t-static \
        deps clean fuzz test-fuzz bench tools test-table \
        bench-callgrind bench-rss bench-perf demo demo-stop test-e2e \
        test-e2e-san \
        sandbox-deps tables tables-check layers-check copyright-check \
        directives-check \
        deb test-deb \
        install uninstall

all: module unit tools

deps:
	./scripts/install-deps

# --- the NGINX module --------------------------------------------------------

module: $(MODULE)
module-san: $(MODULE_SAN)

$(MODULE): config $(CORE_SRCS) $(CORE_HDRS) $(GLUE_SRCS)
	./scripts/build-module $(BUILD)/nginx "$(WARN) $(HARDEN_CFLAGS) -fPIC" \
	    "$(HARDEN_LDFLAGS)"

$(MODULE_SAN): config $(CORE_SRCS) $(CORE_HDRS) $(GLUE_SRCS)
	./scripts/build-module $(BUILD)/nginx-san \
	    "$(WARN) $(HARDEN_CFLAGS) -fPIC -O1 $(SAN_FLAGS)" "$(HARDEN_LDFLAGS)"

module-static: $(NGINX_STATIC)

$(BUILD)/nginx-src/configure:
	./scripts/fetch-nginx-src $(BUILD)/nginx-src

$(NGINX_STATIC): $(BUILD)/nginx-src/configure config scripts/build-static \
        $(CORE_SRCS) $(CORE_HDRS) $(GLUE_SRCS)
	./scripts/build-static $(BUILD)/nginx-src $(BUILD)/nginx-static "$(WARN)"

# --- unit tests of the plain-C core (cmocka, under ASan+UBSan) --------------

unit: $(UNIT_BINS)

$(BUILD)/tests/%: tests/%.c $(CORE_SRCS) $(CORE_HDRS) $(wildcard tests/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CORE_CFLAGS) -O1 $(SAN_FLAGS) -Itests -o $@ $< $(CORE_SRCS) \
	    $(HARDEN_LDFLAGS) $(CORE_LIBS) -lcmocka -ljwt

test-unit: unit test-table
	@set -e; for t in $(UNIT_BINS); do \
	    echo "== $$t"; ( cd tests && ../$$t ); done

# --- command-line tools (same core sources as the module) -------------------

SCOPE_CHECK   := $(BUILD)/tools/smart-scope-check

tools: $(SCOPE_CHECK)

AUDIT_EXPORT  := $(BUILD)/tools/smart-audit-export

tools: $(AUDIT_EXPORT)

$(AUDIT_EXPORT): tools/smart-audit-export.c $(CORE_SRCS) $(CORE_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CORE_CFLAGS) -o $@ $< $(CORE_SRCS) $(HARDEN_LDFLAGS) \
	    $(CORE_LIBS) -lhiredis

$(SCOPE_CHECK): tools/smart-scope-check.c $(CORE_SRCS) $(CORE_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CORE_CFLAGS) -o $@ $< $(CORE_SRCS) $(HARDEN_LDFLAGS) $(CORE_LIBS)

# tests/test_policy.c runs the table through the CLI's own table code
$(BUILD)/tests/test_policy: tools/smart-scope-check.c

test-table: $(SCOPE_CHECK)
	$(SCOPE_CHECK) --table tests/policy/decisions.tsv

# the committed FHIR tables are what the generator makes from the pinned
# definitions (tools/gen-fhir-tables)
tables:
	cd tools/gen-fhir-tables && npm ci --no-audit --no-fund --silent && node gen.js

tables-check:
	cd tools/gen-fhir-tables && npm ci --no-audit --no-fund --silent \
	    && node gen.js --check

# the glue calls downward only (docs/architecture.md, "Layers")
layers-check:
	./scripts/check-layers ngx_smart_module

# every directive in the code is documented in nginx.org's form, and no other
directives-check:
	./scripts/check-directives ngx_smart_module docs/directives.md

# every hand-written source file carries the copyright line (LICENSE)
copyright-check:
	./scripts/copyright check

# --- libFuzzer targets of the core (clang), run for a bounded time ---------

FUZZ_SRCS     := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS     := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))
FUZZ_SECONDS  ?= 15

fuzz: $(FUZZ_BINS)

$(BUILD)/fuzz/%: tests/fuzz/%.c tests/fuzz/fuzz_util.h $(CORE_SRCS) $(CORE_HDRS)
	@mkdir -p $(dir $@)
	clang -std=c99 -D_POSIX_C_SOURCE=200809L -O1 -g $(WARN) \
	    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	    -Ingx_smart_module -o $@ $< $(CORE_SRCS) $(CORE_LIBS)

test-fuzz: fuzz
	@set -e; for f in $(FUZZ_BINS); do \
	    mkdir -p $$f.corpus; \
	    echo "== $$f ($(FUZZ_SECONDS) s)"; \
	    d=tests/fuzz/$$(basename $$f).dict; \
	    $$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	        -rss_limit_mb=2048 $$( [ -f $$d ] && echo -dict=$$d ) \
	        $$f.corpus 2>$$f.log \
	    || { tail -50 $$f.log; exit 1; }; \
	    grep -E '^stat::number_of_executed_units' $$f.log; done

# --- integration tests (t/, prove) ------------------------------------------

# LD_PRELOAD fault injection for t/ (tests/fault/)
FAULT_HIREDIS := $(BUILD)/fault/hiredis_fail.so

$(FAULT_HIREDIS): tests/fault/hiredis_fail.c
	@mkdir -p $(dir $@)
	$(CC) -std=c99 -O1 -g $(WARN) -shared -fPIC -o $@ $< -ldl

test-t: module $(FAULT_HIREDIS) $(AUDIT_EXPORT)
	TEST_NGINX_MODULE=$(CURDIR)/$(MODULE) TEST_NGINX_BINARY=$(NGINX_BIN) \
	SMART_FAULT_HIREDIS_SO=$(CURDIR)/$(FAULT_HIREDIS) \
	    prove -I t/lib -r t/

# the whole t/ suite against the static build: filters, typed errors and the
# JWKS subrequest depend on the module's place in the filter chain
test-t-static: module-static $(FAULT_HIREDIS) $(AUDIT_EXPORT)
	TEST_NGINX_BINARY=$(CURDIR)/$(NGINX_STATIC) TEST_NGINX_STATIC=1 \
	SMART_FAULT_HIREDIS_SO=$(CURDIR)/$(FAULT_HIREDIS) \
	    prove -I t/lib -r t/

test-t-san: module-san $(FAULT_HIREDIS) $(AUDIT_EXPORT)
	TEST_NGINX_MODULE=$(CURDIR)/$(MODULE_SAN) TEST_NGINX_BINARY=$(NGINX_BIN) \
	SMART_FAULT_HIREDIS_SO=$(CURDIR)/$(FAULT_HIREDIS) \
	    TEST_NGINX_SANITIZE=1 prove -I t/lib -r t/

# --- the lab: sandbox FHIR server, token issuer, Redis, gateway ----------

sandbox-deps:
	./sandbox/lab deps

demo: deps module tools sandbox-deps
	./sandbox/lab up
	./sandbox/lab tour

demo-stop:
	./sandbox/lab down

# end-to-end: the sandbox's own tests, then the lab started by the tests
# (free ports, its own directory) with tokens from the issuer
test-e2e: module tools sandbox-deps
	SMART_LAB_MODULE=$(CURDIR)/$(MODULE) NGINX_BIN=$(NGINX_BIN) \
	    node --test --test-concurrency=1 sandbox/test/

# the same lab and tests with the ASan/UBSan module: any report fails it
SAN_LOGS      := $(BUILD)/e2e-san-logs

test-e2e-san: module-san tools sandbox-deps
	rm -rf $(SAN_LOGS) && mkdir -p $(SAN_LOGS)
	SMART_LAB_MODULE=$(CURDIR)/$(MODULE_SAN) \
	NGINX_BIN=$(CURDIR)/scripts/nginx-sanitized NGINX_REAL=$(NGINX_BIN) \
	SMART_SAN_LOGS=$(CURDIR)/$(SAN_LOGS) \
	    node --test --test-concurrency=1 sandbox/test/
	@if [ -n "$$(ls -A $(SAN_LOGS))" ]; then \
	    cat $(SAN_LOGS)/*; echo "test-e2e-san: sanitizer reports"; exit 1; \
	fi

test: deps tables-check layers-check copyright-check directives-check \
      test-unit test-fuzz test-t test-t-san test-t-static \
      test-deb \
      test-e2e test-e2e-san

# --- benchmark (not part of make test: numbers, not assertions) -----------

# bench: wrk table A-G + verify_speed + the callgrind summary;
# bench-callgrind: instructions per request of the access-phase handler;
# bench-rss: worker RSS over 1M requests of F; bench-perf: perf profile of
# one variant's worker (BENCH_PERF_VARIANT=B|F|A).  See docs/performance.md.

bench: module $(BUILD)/bench/verify_speed
	perl bench/run.pl

bench-callgrind: module
	perl bench/callgrind.pl

bench-rss: module
	perl bench/rss.pl

bench-perf: module
	perl bench/perf.pl

$(BUILD)/bench/verify_speed: bench/verify_speed.c $(CORE_SRCS) $(CORE_HDRS)
	@mkdir -p $(dir $@)
	$(CC) -std=c99 -D_POSIX_C_SOURCE=200809L -O2 -g $(WARN) \
	    -Ingx_smart_module -o $@ $< $(CORE_SRCS) $(CORE_LIBS)

clean:
	rm -rf $(BUILD)

# --- packages and installation (docs/install.md) ---------------------------

# Debian packages libnginx-mod-http-smart and smart-module-tools (debian/,
# dh_nginx) into $(BUILD)/deb
deb:
	./scripts/build-deb $(BUILD)/deb

# build, install, nginx -t in Debian's layout, purge (root; scripts/test-deb)
test-deb: deb
	./scripts/test-deb $(BUILD)/deb

# make install [DESTDIR=...] [PREFIX=/usr/local] [MODULEDIR=...]
PREFIX        ?= /usr/local
BINDIR        ?= $(PREFIX)/bin
MANDIR        ?= $(PREFIX)/share/man
DOCDIR        ?= $(PREFIX)/share/doc/ngx_smart_module
MODULEDIR     ?= $(PREFIX)/lib/nginx/modules
EXAMPLEDIR    ?= $(DOCDIR)/conf-examples

install: module tools
	install -d $(DESTDIR)$(MODULEDIR) $(DESTDIR)$(BINDIR) \
	    $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(DOCDIR) \
	    $(DESTDIR)$(EXAMPLEDIR)/debian
	install -m 0644 $(MODULE) $(DESTDIR)$(MODULEDIR)/
	install -m 0755 $(SCOPE_CHECK) $(AUDIT_EXPORT) $(DESTDIR)$(BINDIR)/
	install -m 0644 packaging/man/*.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 README.md LICENSE docs/*.md $(DESTDIR)$(DOCDIR)/
	install -m 0644 conf-examples/*.conf $(DESTDIR)$(EXAMPLEDIR)/
	install -m 0644 conf-examples/debian/* $(DESTDIR)$(EXAMPLEDIR)/debian/

uninstall:
	rm -f $(DESTDIR)$(MODULEDIR)/ngx_http_smart_module.so \
	    $(DESTDIR)$(BINDIR)/smart-scope-check \
	    $(DESTDIR)$(BINDIR)/smart-audit-export \
	    $(DESTDIR)$(MANDIR)/man1/smart-scope-check.1 \
	    $(DESTDIR)$(MANDIR)/man1/smart-audit-export.1
	rm -rf $(DESTDIR)$(DOCDIR)
