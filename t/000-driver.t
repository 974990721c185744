# Copyright (C) 2026 The ngx_smart_module authors
# SPDX-License-Identifier: BSD-2-Clause
# Self-tests of the t/lib driver.  Uses no smart_* directive, so it passes
# with and without TEST_NGINX_MODULE.

use Test::Nginx::Socket 'no_plan';

# The response parser on its own, on inputs nginx does not easily produce.
{
    my $p = \&Test::Nginx::Socket::parse_response;

    my $r = $p->("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                 . "X-A: 1\r\nx-a: 2\r\n\r\n"
                 . "5\r\nhello\r\n1;ext=1\r\n,\r\n6\r\n world\r\n"
                 . "0\r\nX-Trailer: t\r\n\r\n");
    ok($r->{complete}, 'parser: chunked response complete');
    is($r->{body}, 'hello, world', 'parser: chunks joined, extension ignored');
    is_deeply($r->{headers}{'x-a'}, [1, 2], 'parser: repeated headers kept');
    is($r->{headers}{'x-trailer'}[0], 't', 'parser: trailer kept');

    $r = $p->("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel");
    ok(!$r->{complete}, 'parser: partial chunk is incomplete');

    $r = $p->("HTTP/1.1 100 Continue\r\n\r\n"
              . "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok");
    is($r->{status}, 201, 'parser: 100 Continue skipped');
    is($r->{body}, 'ok', 'parser: content-length body');

    $r = $p->("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
    ok(!$r->{complete}, 'parser: short content-length body is incomplete');

    $r = $p->("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", 1);
    ok($r->{complete} && $r->{body} eq '', 'parser: HEAD has no body');

    $r = $p->("garbage\r\n\r\n");
    ok($r->{error}, 'parser: bad status line reported');
}

# The driver must be able to fail: run a spec full of wrong expectations in
# a child perl and check that exactly the intended checks fail.
{
    use File::Temp qw(tempdir);
    use IO::Socket::INET;

    my $dir = tempdir(CLEANUP => 1);
    # Accepts connections into its backlog and never answers: a port nginx
    # cannot bind and an upstream that never replies.
    my $busy = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                     Listen => 5, Proto => 'tcp')
        or die "listen: $!";
    my $spec = "$dir/negative.t";
    open my $fh, '>', $spec or die "$spec: $!";
    print {$fh} <<'SPEC';
use Test::Nginx::Socket 'no_plan';
run_tests();
__DATA__

=== TEST 1: wrong status, header, body, upstream count, log lines
--- config
    location /fhir/ {
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request
GET /fhir/Patient/1
--- error_code: 201
--- response_headers
Content-Type: text/plain
!Content-Type
--- response_headers_like
Content-Type: ^text/
--- response_body
nope
--- response_body_like
^nope
--- upstream_requests: 2
--- upstream_log_like
^POST
--- error_log
this line is not in the log
--- no_error_log
[debug]

=== TEST 2: must_die on a valid config
--- config
    location / { return 200; }
--- must_die

=== TEST 3: sanitizer report file and runtime error in the error log
--- config
    location = /t {
        access_log $TEST_NGINX_SERVROOT/logs/asan.4242;
        return 200;
    }
    location / {
    }
--- request eval
["GET /t", "GET /runtime%20error:"]
--- error_code eval
[200, 404]

=== TEST 4: nginx cannot start (port taken)
--- http_config
    server { listen 127.0.0.1:$TEST_NGINX_BUSY_PORT; }
--- config
    location / { return 200; }
--- request
GET /

=== TEST 5: client timeout on an upstream that never answers
--- config
    location / {
        proxy_read_timeout 3s;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BUSY_PORT;
    }
--- request
GET /
--- timeout: 1
--- no_error_log
SPEC
    close $fh;

    my $servroot = "$dir/servroot";
    my $out = do {
        local %ENV = %ENV;
        delete @ENV{qw(TEST_NGINX_SERVER_PORT TEST_NGINX_UPSTREAM_PORT
                       TEST_NGINX_HTML_DIR TEST_NGINX_FIXTURES
                       TEST_NGINX_KEEP HARNESS_ACTIVE)};
        $ENV{TEST_NGINX_SERVROOT} = $servroot;
        $ENV{TEST_NGINX_BUSY_PORT} = $busy->sockport;
        my $inc = join ' ', map { "-I$_" } grep { !ref } @INC;
        `$^X $inc $spec 2>&1`;
    };
    my %result;
    for (split /\n/, $out) {
        $result{$2} = $1 if /^(ok|not ok) \d+ - (.*?)\s*$/;
    }
    my @expect_fail = (
        'TEST 1: wrong status, header, body, upstream count, log lines - status code',
        'TEST 1: wrong status, header, body, upstream count, log lines - header Content-Type',
        'TEST 1: wrong status, header, body, upstream count, log lines - header Content-Type absent',
        'TEST 1: wrong status, header, body, upstream count, log lines - header Content-Type like /^text//',
        'TEST 1: wrong status, header, body, upstream count, log lines - response body',
        'TEST 1: wrong status, header, body, upstream count, log lines - response body like',
        'TEST 1: wrong status, header, body, upstream count, log lines - upstream requests',
        'TEST 1: wrong status, header, body, upstream count, log lines - upstream log like',
        'TEST 1: wrong status, header, body, upstream count, log lines - error_log has: this line is not in the log',
        'TEST 1: wrong status, header, body, upstream count, log lines - no error_log: [debug]',
        'TEST 2: must_die on a valid config - nginx refused to start',
        'TEST 3: sanitizer report file and runtime error in the error log - no crash or sanitizer report',
        'TEST 4: nginx cannot start (port taken) - status code',
        'TEST 4: nginx cannot start (port taken) - no [alert] or [emerg] in error log',
        'TEST 5: client timeout on an upstream that never answers - status code',
    );
    my @expect_pass = (
        'TEST 1: wrong status, header, body, upstream count, log lines - no crash or sanitizer report',
        'TEST 2: must_die on a valid config - no crash or sanitizer report',
        'TEST 3: sanitizer report file and runtime error in the error log - request 0 - status code',
        'TEST 3: sanitizer report file and runtime error in the error log - request 1 - status code',
        'TEST 5: client timeout on an upstream that never answers - no crash or sanitizer report',
    );
    my $fails = 0;
    for my $t (@expect_fail) {
        is($result{$t}, 'not ok', "negative run fails: $t") or $fails++;
    }
    for my $t (@expect_pass) {
        is($result{$t}, 'ok', "negative run passes: $t") or $fails++;
    }
    my $not_ok = () = $out =~ /^not ok /mg;
    is($not_ok, scalar @expect_fail, 'negative run: no other check failed')
        or $fails++;
    ok(!-e $servroot, 'negative run removed its servroot');
    diag($out) if $fails;
    close $busy;
}

ok(server_port() != upstream_port(), 'distinct ports');
like($ENV{TEST_NGINX_FIXTURES}, qr{^/.*/t/fixtures$}, 'fixtures path');
ok(-f "$ENV{TEST_NGINX_FIXTURES}/jwks-1.json", 'fixtures exist');

run_tests();

__DATA__

=== TEST 1: plain location returning text
--- config
    location = /t {
        return 200 "hello\n";
    }
--- request
GET /t
--- response_body
hello
--- response_headers
Content-Type: text/plain
Content-Length: 6
--- no_upstream



=== TEST 2: status codes, absent headers, header regexes
--- config
    location = /t {
        add_header X-Test "yes" always;
        return 418 "teapot";
    }
--- request
GET /t
--- error_code: 418
--- response_headers
X-Test: yes
!X-Absent
!Set-Cookie
--- response_headers_like
Server: ^nginx
!X-Other
--- response_body chomp
teapot



=== TEST 3: proxy to the echo upstream; upstream request count and log
--- config
    location /fhir/ {
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request
GET /fhir/Patient/1?_elements=id
--- more_headers
X-Correlation-ID: abcdef12-3456
Authorization: Bearer not-a-real-token
--- response_headers
Content-Type: application/fhir+json
--- response_body_like
"method":"GET","uri":"/fhir/Patient/1\?_elements=id","authorization":"yes","cid":"abcdef12-3456"
--- upstream_requests: 1
--- upstream_log_like
^GET /fhir/Patient/1\?_elements=id auth="Bearer not-a-real-token" cid="abcdef12-3456"



=== TEST 4: a request that never reaches the upstream counts zero
--- config
    location /fhir/ {
        return 401;
    }
--- request
GET /fhir/Patient/1
--- error_code: 401
--- upstream_requests: 0



=== TEST 5: POST body with Content-Length, echoed method, no Authorization
--- config
    location /fhir/ {
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request
POST /fhir/Patient
{"resourceType":"Patient"}
--- more_headers
Content-Type: application/fhir+json
--- response_body_like
"method":"POST".*"authorization":"no"
--- upstream_log_like
^POST /fhir/Patient auth="-" cid="-" ct="application/fhir\+json" cl="26"
--- upstream_requests: 1



=== TEST 6: several requests in one block (request eval array)
--- config
    location /fhir/ {
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
    location = /deny {
        return 403;
    }
--- request eval
["GET /fhir/Observation?patient=123", "GET /deny", "HEAD /fhir/metadata"]
--- error_code eval
[200, 403, 200]
--- response_body_like eval
[qr/"uri":"\/fhir\/Observation\?patient=123"/, qr/403 Forbidden/, qr/^$/]
--- upstream_requests: 2



=== TEST 7: must_die on an invalid directive (nginx -t rejects it)
--- config
    location / {
        no_such_directive on;
    }
--- must_die
--- error_log
unknown directive "no_such_directive"
--- no_upstream



=== TEST 8: must_die with error_log eval (array of strings and regexes)
--- http_config
    server {
        listen 127.0.0.1:$TEST_NGINX_SERVER_PORT;
        bogus_value_for_port 1;
    }
--- config
--- must_die
--- error_log eval
["[emerg]", qr/unknown directive "bogus_value_for_port" in \S+nginx\.conf:\d+/]



=== TEST 9: repeated request headers are sent repeatedly
--- config
    location = /t {
        return 200 "cookie=$http_cookie xff=$http_x_forwarded_for\n";
    }
--- request
GET /t
--- more_headers
Cookie: a=1
Cookie: b=2
X-Forwarded-For: 10.0.0.1
X-Forwarded-For: 10.0.0.2
--- response_body
cookie=a=1; b=2 xff=10.0.0.1, 10.0.0.2



=== TEST 10: more_headers eval
--- config
    location = /t {
        return 200 "auth=$http_authorization\n";
    }
--- request
GET /t
--- more_headers eval
"Authorization: Bearer " . ("x" x 10)
--- response_body
auth=Bearer xxxxxxxxxx



=== TEST 11: raw_request with a duplicate Host header is refused
--- config
    location / {
        return 200 "unexpected\n";
    }
--- raw_request eval
"GET /t HTTP/1.1\r\nHost: localhost\r\nHost: evil.example\r\nConnection: close\r\n\r\n"
--- error_code: 400
--- error_log
client sent duplicate host header
--- no_error_log
[alert]
[emerg]



=== TEST 12: raw_request with a hostile request line
--- config
    location / {
        return 200 "unexpected\n";
    }
--- raw_request eval
"GET /../../etc/passwd HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
--- error_code: 400
--- response_body_like
400 Bad Request



=== TEST 13: chunked response is decoded
--- config
    location = /t {
        default_type text/html;
        sub_filter_types text/html;
        sub_filter_once off;
        sub_filter "a" "b";
        return 200 "aaa-aaa\n";
    }
--- request
GET /t
--- response_headers
Transfer-Encoding: chunked
!Content-Length
--- response_body
bbb-bbb



=== TEST 14: error_log checks (plain lines are substrings) and wait
--- config
    location / {
    }
--- request
GET /missing.html
--- error_code: 404
--- wait: 0.1
--- error_log
open() "
/html/missing.html" failed (2: No such file or directory)
--- no_error_log
[crit]



=== TEST 15: TEST_NGINX variables are substituted in every section
--- main_config
worker_rlimit_nofile 2048;
--- config
    location = /t {
        return 200 "port=$TEST_NGINX_SERVER_PORT up=${TEST_NGINX_UPSTREAM_PORT}\n";
    }
--- request
GET /t
--- response_body eval
"port=$ENV{TEST_NGINX_SERVER_PORT} up=$ENV{TEST_NGINX_UPSTREAM_PORT}\n"
--- response_body_like
^port=$TEST_NGINX_SERVER_PORT up=



=== TEST 16: HTML dir, servroot and static files
--- config
    location = /t {
        alias $TEST_NGINX_FIXTURES/jwks-empty.json;
        default_type application/json;
    }
--- request
GET /t
--- response_body_like
^\{\s*"keys"\s*:\s*\[\]\s*\}
--- response_headers
Content-Type: application/json



=== TEST 17: upstream_config adds locations to the echo upstream
--- upstream_config
        location = /fhir/Patient/conflict {
            return 409 '{"resourceType":"OperationOutcome"}';
        }
--- config
    location /fhir/ {
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request
PUT /fhir/Patient/conflict
{}
--- error_code: 409
--- response_body chomp
{"resourceType":"OperationOutcome"}
--- upstream_requests: 1



=== TEST 18: skip_nginx skips blocks for matching versions
--- skip_nginx: 1: > 0.0.1
--- config
    location = /t { return 500; }
--- request
GET /t
