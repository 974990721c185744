# Copyright (C) 2026 The ngx_smart_module authors
# SPDX-License-Identifier: BSD-2-Clause
package Test::Nginx::Socket;

# A Test::Nginx::Socket-compatible driver for the t/ suite, built on
# Test::Base (Test::Nginx itself is not packaged for Debian 12).
#
# Each block gets a freshly generated nginx.conf, a fresh set of logs, a
# freshly started nginx (daemon off, master + workers in their own process
# group) and is fully stopped again before the next block.  The supported
# sections, environment variables and test counts are documented in
# t/README.md.

use strict;
use warnings;

use Test::Base ();
use Test::More ();
use Cwd qw(abs_path);
use Errno qw(EINTR EAGAIN);
use File::Basename qw(dirname);
use File::Path qw(make_path remove_tree);
use IO::Select;
use IO::Socket::INET;
use POSIX qw(WNOHANG _exit setpgid);
use Time::HiRes qw(sleep time);

our @ISA = ('Test::Base');
our @EXPORT = qw(
    run_tests repeat_each workers planned_tests
    server_port upstream_port servroot html_dir fixtures_dir
);

# --- global settings --------------------------------------------------------

my $TDir     = abs_path(dirname(__FILE__) . '/../../..');
my $Binary   = $ENV{TEST_NGINX_BINARY} || '/usr/sbin/nginx';
my $Module   = $ENV{TEST_NGINX_MODULE};
# the module is compiled into $Binary (--add-module): no load_module
my $Static   = $ENV{TEST_NGINX_STATIC} ? 1 : 0;
my $Sanitize = $ENV{TEST_NGINX_SANITIZE} ? 1 : 0;
my $Keep     = $ENV{TEST_NGINX_KEEP} ? 1 : 0;
my $Workers  = $ENV{TEST_NGINX_WORKERS} || 1;
my $Repeat   = 1;

my $StartupTimeout = $Sanitize ? 15 : 5;
my $StopTimeout    = 10;
my $DefaultTimeout = $Sanitize ? 15 : 5;

my ($ServRoot, $HtmlDir, $ServerPort, $UpstreamPort, $Fixtures);
my ($NginxVersion, $HasDebug);
my $SetupDone = 0;
my $CreatedServRoot = 0;
my $OwnerPid = $$;

# State of the nginx this process started (undef when none runs).
my $NginxPid;

my @ConfSections = qw(main_config http_config config upstream_config);

# Every section the driver understands; anything else is a typo that would
# otherwise make a check silently disappear.
my %KnownSection = map { $_ => 1 } @ConfSections, qw(
    request raw_request more_headers error_code response_headers
    response_headers_like response_body response_body_like
    response_body_unlike error_log
    no_error_log timeout wait skip_nginx must_die upstream_requests
    upstream_log_like no_upstream request_delay request_hooks stop_hook
    worker_killed ONLY SKIP LAST
);

# --- exported helpers -------------------------------------------------------

sub repeat_each {
    if (@_) {
        my $n = shift;
        die "repeat_each: positive integer expected\n"
            unless defined $n && $n =~ /^[1-9]\d*$/;
        $Repeat = $n;
    }
    return $Repeat;
}

sub workers {
    if (@_) {
        my $n = shift;
        die "workers: positive integer expected\n"
            unless defined $n && $n =~ /^[1-9]\d*$/;
        $Workers = $n;
    }
    return $Workers;
}

sub server_port   { _setup(); return $ServerPort }
sub upstream_port { _setup(); return $UpstreamPort }
sub servroot      { _setup(); return $ServRoot }
sub html_dir      { _setup(); return $HtmlDir }
sub fixtures_dir  { _setup(); return $Fixtures }

# The number of tests run_tests() will emit, for `plan tests => ...`.
sub planned_tests {
    _setup();
    my @blocks = Test::Base::blocks();
    _validate_blocks(@blocks);
    my $n = 0;
    $n += _block_test_count($_) for @blocks;
    return $n * $Repeat;
}

# --- setup and teardown -----------------------------------------------------

sub _free_port {
    my ($avoid) = @_;
    for (1 .. 50) {
        my $s = IO::Socket::INET->new(
            LocalAddr => '127.0.0.1',
            LocalPort => 0,
            Proto     => 'tcp',
            Listen    => 1,
            ReuseAddr => 0,
        ) or die "cannot bind 127.0.0.1:0: $!\n";
        my $port = $s->sockport;
        close $s;
        next if defined $avoid && $port == $avoid;
        return $port;
    }
    die "no free port found\n";
}

sub _setup {
    return if $SetupDone;
    $SetupDone = 1;

    die "TEST_NGINX_BINARY $Binary is not executable\n" unless -x $Binary;
    if (defined $Module && $Module ne '') {
        die "TEST_NGINX_MODULE $Module does not exist\n" unless -f $Module;
        $Module = abs_path($Module);
    } else {
        $Module = undef;
    }
    die "TEST_NGINX_STATIC and TEST_NGINX_MODULE are both set: a static"
      . " build has the module compiled in\n" if $Static && defined $Module;
    die "TEST_NGINX_WORKERS must be a positive integer\n"
        unless $Workers =~ /^[1-9]\d*$/;

    my $v = `"$Binary" -V 2>&1`;
    ($NginxVersion) = $v =~ m{nginx/(\d+\.\d+\.\d+)}
        or die "cannot read the version of $Binary:\n$v\n";
    $HasDebug = $v =~ /--with-debug\b/ ? 1 : 0;
    die "TEST_NGINX_STATIC is set but $Binary was not built with"
      . " --add-module:\n$v\n" if $Static && $v !~ /--add-module=/;

    $ServRoot = $ENV{TEST_NGINX_SERVROOT} || "$TDir/servroot-$$";
    $ServRoot = abs_path($ServRoot) if -d $ServRoot;
    if ($ServRoot !~ m{^/}) {
        require Cwd;
        $ServRoot = Cwd::getcwd() . "/$ServRoot";
    }
    $CreatedServRoot = !-e $ServRoot;
    $HtmlDir  = "$ServRoot/html";
    $Fixtures = "$TDir/fixtures";

    $ServerPort   = $ENV{TEST_NGINX_SERVER_PORT}   || _free_port();
    $UpstreamPort = $ENV{TEST_NGINX_UPSTREAM_PORT} || _free_port($ServerPort);
    die "server and upstream ports must differ\n"
        if $ServerPort == $UpstreamPort;

    $ENV{TEST_NGINX_SERVER_PORT}   = $ServerPort;
    $ENV{TEST_NGINX_UPSTREAM_PORT} = $UpstreamPort;
    $ENV{TEST_NGINX_SERVROOT}      = $ServRoot;
    $ENV{TEST_NGINX_HTML_DIR}      = $HtmlDir;
    $ENV{TEST_NGINX_FIXTURES}      = $Fixtures;

    remove_tree("$ServRoot/conf", "$ServRoot/logs", "$ServRoot/tmp");
    make_path(map { "$ServRoot/$_" }
              qw(conf logs html tmp/client_body tmp/proxy tmp/fastcgi
                 tmp/uwsgi tmp/scgi));

    if ($Sanitize) {
        my @libs;
        for my $lib (qw(libasan.so libubsan.so)) {
            my $path = `gcc -print-file-name=$lib 2>/dev/null`;
            chomp $path;
            die "TEST_NGINX_SANITIZE: gcc cannot locate $lib\n"
                unless $path =~ m{^/} && -e $path;
            push @libs, $path;
        }
        $ENV{TEST_NGINX_SANITIZE_PRELOAD} = join ' ', @libs;
        Test::More::note("sanitizer mode: nginx runs with LD_PRELOAD=@libs");
    }
}

sub _cleanup {
    return unless $$ == $OwnerPid;
    _stop_nginx();
    if ($SetupDone && !$Keep && $CreatedServRoot && defined $ServRoot
        && -d $ServRoot)
    {
        remove_tree($ServRoot);
    }
}

END {
    my $status = $?;
    _cleanup();
    $? = $status;
}

$SIG{INT} = $SIG{TERM} = sub {
    _cleanup();
    _exit(130);
};

# --- section access ---------------------------------------------------------

sub _expand {
    my ($text) = @_;
    return $text unless defined $text && !ref $text;
    $text =~ s{\$(?:\{(TEST_NGINX_[A-Z0-9_]+)\}|(TEST_NGINX_[A-Z0-9_]+)\b)}
              { my $n = defined $1 ? $1 : $2;
                defined $ENV{$n} ? $ENV{$n} : "\$$n" }ge;
    return $text;
}

sub _expand_deep {
    my ($v) = @_;
    return _expand($v) unless ref $v;
    return [ map { _expand_deep($_) } @$v ] if ref $v eq 'ARRAY';
    return $v;
}

sub _has {
    my ($block, $name) = @_;
    return exists $block->{$name};
}

sub _val {
    my ($block, $name) = @_;
    return undef unless exists $block->{$name};
    my @v = @{ $block->{$name} };
    my $v = @v == 1 ? $v[0] : \@v;
    return _expand_deep($v);
}

sub _used_eval {
    my ($block, $name) = @_;
    my $map = $block->{_section_map}[0] || {};
    my $f = $map->{$name} ? $map->{$name}{filters} : '';
    return defined $f && $f =~ /\beval\b/;
}

sub _chomped {
    my ($v) = @_;
    return $v if !defined $v || ref $v;
    $v =~ s/\r?\n\z//;
    return $v;
}

# A list of patterns (strings or qr//) from a section: plain text gives one
# per non-empty line; eval may give a string, a qr// or an array of them.
sub _patterns {
    my ($block, $name) = @_;
    my $v = _val($block, $name);
    return () unless defined $v;
    my @items = ref $v eq 'ARRAY' ? @$v : ($v);
    my @out;
    for my $item (@items) {
        next unless defined $item;
        if (ref $item) {
            push @out, $item;
        } else {
            push @out, grep { /\S/ } split /\r?\n/, $item;
        }
    }
    return @out;
}

# --- test counting ----------------------------------------------------------

sub _requests {
    my ($block) = @_;
    my ($v, $raw);
    if (_has($block, 'raw_request')) {
        ($v, $raw) = (_val($block, 'raw_request'), 1);
    } else {
        $v = _val($block, 'request');
    }
    die "block '" . $block->name . "' has no --- request or --- raw_request\n"
        unless defined $v;
    my @list = ref $v eq 'ARRAY' ? @$v : ($v);
    return map { { raw => $raw, text => $_ } } @list;
}

sub _per_request {
    my ($block, $name, $i) = @_;
    my $v = _val($block, $name);
    return $v unless ref $v eq 'ARRAY';
    return $v->[$i];
}

sub _header_lines {
    my ($spec) = @_;
    return () unless defined $spec;
    return grep { /\S/ } split /\r?\n/, $spec;
}

sub _validate_blocks {
    my @errors;
    for my $block (@_) {
        my $id = 'block ' . $block->seq_num . ' (' . $block->name . ')';
        for my $sec (@{ $block->{_section_order}[0] || [] }) {
            push @errors, "$id: unknown section --- $sec"
                unless $KnownSection{$sec};
        }
        push @errors, "$id: --- request and --- raw_request are exclusive"
            if _has($block, 'request') && _has($block, 'raw_request');
        push @errors, "$id: no --- request or --- raw_request"
            unless _has($block, 'must_die') || _has($block, 'request')
                || _has($block, 'raw_request');
        for my $sec (qw(upstream_requests timeout wait)) {
            my $v = _chomped(_val($block, $sec));
            push @errors, "$id: --- $sec must be a number"
                if defined $v && $v !~ /^\s*\d*\.?\d+\s*$/;
        }
        my $codes = _val($block, 'error_code');
        for my $c (ref $codes eq 'ARRAY' ? @$codes : ($codes)) {
            next unless defined $c;
            $c = _chomped($c);
            push @errors, "$id: --- error_code '$c' is not a status"
                unless $c =~ /^\s*\d{1,3}\s*$/;
        }
    }
    die join("\n", 'Test::Nginx::Socket: bad test spec:', @errors) . "\n"
        if @errors;
}

sub _block_test_count {
    my ($block) = @_;
    my $n = 0;
    if (_has($block, 'must_die')) {
        $n += 1;
    } else {
        my @reqs = _requests($block);
        for my $i (0 .. $#reqs) {
            $n += 1;    # status
            $n += _header_lines(_per_request($block, 'response_headers', $i));
            $n += _header_lines(
                _per_request($block, 'response_headers_like', $i));
            $n += 1 if defined _per_request($block, 'response_body', $i);
            $n += 1 if defined _per_request($block, 'response_body_like', $i);
            $n += 1
                if defined _per_request($block, 'response_body_unlike', $i);
        }
        $n += 1 if _has($block, 'upstream_requests');
        $n += _patterns($block, 'upstream_log_like');
        $n += 1 unless _has($block, 'no_error_log');    # default check
    }
    $n += _patterns($block, 'error_log');
    $n += _patterns($block, 'no_error_log');
    $n += 1;    # health: crashes and sanitizer reports
    return $n;
}

# --- nginx.conf -------------------------------------------------------------

sub _echo_upstream {
    my ($block) = @_;
    my $uconf = _val($block, 'upstream_config');
    $uconf = '' unless defined $uconf;
    my $http_config = _val($block, 'http_config');
    my $smart_off = (defined $Module || $Static) && defined $http_config
                    && $http_config =~ /^\s*smart\s+on\s*;/m
                  ? "        smart off;\n" : '';
    my $body = '{"resourceType":"Bundle","type":"searchset","total":0,'
             . '"meta":{"tag":[{"code":"echo"}]},'
             . '"echo":{"method":"$request_method","uri":"$request_uri",'
             . '"authorization":"$test_echo_authorization",'
             . '"cid":"$http_x_correlation_id"}}\n';
    return <<"EOF";
    # --- built-in echo upstream (omit with --- no_upstream) ---
    map \$http_authorization \$test_echo_authorization {
        ""       "no";
        default  "yes";
    }
    log_format test_echo '\$request_method \$request_uri'
                         ' auth="\$http_authorization"'
                         ' cid="\$http_x_correlation_id"'
                         ' ct="\$content_type" cl="\$content_length"'
                         ' host="\$host" xff="\$http_x_forwarded_for"';
    server {
        listen 127.0.0.1:$UpstreamPort;
        server_name echo-upstream;
        access_log $ServRoot/logs/upstream.log test_echo;
$smart_off$uconf
        location / {
            default_type application/fhir+json;
            return 200 '$body';
        }
    }
EOF
}

sub _write_conf {
    my ($block) = @_;
    my %s;
    for my $name (@ConfSections) {
        my $v = _val($block, $name);
        $s{$name} = defined $v ? $v : '';
    }
    my $level = $HasDebug ? 'debug' : 'info';
    my $load = defined $Module ? "load_module $Module;\n" : '';
    my $user = $> == 0 ? "user root;\n" : '';
    my $upstream = _has($block, 'no_upstream') ? '' : _echo_upstream($block);
    my $name = $block->name;
    $name =~ s/\n/ /g;

    my $conf = <<"EOF";
# generated by t/lib/Test/Nginx/Socket.pm for: $name
$load${user}daemon off;
master_process on;
worker_processes $Workers;
error_log $ServRoot/logs/error.log $level;
pid $ServRoot/logs/nginx.pid;

$s{main_config}

events {
    worker_connections 1024;
}

http {
    access_log $ServRoot/logs/access.log;
    client_body_temp_path $ServRoot/tmp/client_body;
    proxy_temp_path $ServRoot/tmp/proxy;
    fastcgi_temp_path $ServRoot/tmp/fastcgi;
    uwsgi_temp_path $ServRoot/tmp/uwsgi;
    scgi_temp_path $ServRoot/tmp/scgi;
    default_type text/plain;

$upstream
$s{http_config}

    server {
        listen 127.0.0.1:$ServerPort;
        server_name localhost;
        root $HtmlDir;

$s{config}
    }
}
EOF
    my $path = "$ServRoot/conf/nginx.conf";
    open my $fh, '>', $path or die "$path: $!\n";
    print {$fh} $conf;
    close $fh or die "$path: $!\n";
}

# --- logs ---------------------------------------------------------------------

sub _fresh_logs {
    my ($tag) = @_;
    my $logs = "$ServRoot/logs";
    opendir my $dh, $logs or die "$logs: $!\n";
    my @files = grep { -f "$logs/$_" } readdir $dh;
    closedir $dh;
    return unless @files;
    if ($Keep) {
        my $dir = "$logs/prev/$tag";
        remove_tree($dir);
        make_path($dir);
        rename "$logs/$_", "$dir/$_" for @files;
    } else {
        unlink map { "$logs/$_" } @files;
    }
}

# Files a block wrote into the html directory (PUT, uploads) must not leak
# into the next block.
sub _fresh_html {
    remove_tree($HtmlDir);
    make_path($HtmlDir);
}

sub _slurp {
    my ($path) = @_;
    open my $fh, '<:raw', $path or return '';
    local $/;
    my $d = <$fh>;
    close $fh;
    return defined $d ? $d : '';
}

# error.log plus whatever nginx (or nginx -t) printed on stderr.
sub _error_log_text {
    return _slurp("$ServRoot/logs/error.log")
         . _slurp("$ServRoot/logs/stderr.log");
}

sub _sanitizer_reports {
    my $logs = "$ServRoot/logs";
    opendir my $dh, $logs or return ();
    my @f = sort grep { /^(?:asan|ubsan)\./ } readdir $dh;
    closedir $dh;
    return map { "$logs/$_" } @f;
}

sub _tail {
    my ($text, $lines) = @_;
    my @l = split /\n/, $text;
    @l = @l[-$lines .. -1] if @l > $lines;
    return join "\n", @l;
}

# --- nginx process control ----------------------------------------------------

# TEST_NGINX_PRELOAD: libraries a test file preloads into nginx (fault
# injection), after the sanitizer runtime, which must come first.
sub _nginx_env {
    my @pre;
    push @pre, $ENV{TEST_NGINX_SANITIZE_PRELOAD} if $Sanitize;
    push @pre, $ENV{TEST_NGINX_PRELOAD} if $ENV{TEST_NGINX_PRELOAD};
    my @env = @pre ? (LD_PRELOAD => join ' ', @pre) : ();
    return @env unless $Sanitize;
    return (
        @env,
        ASAN_OPTIONS  => "detect_leaks=0:abort_on_error=0"
                       . ":log_path=$ServRoot/logs/asan",
        UBSAN_OPTIONS => "print_stacktrace=1:log_path=$ServRoot/logs/ubsan",
    );
}

sub _nginx_cmd {
    my @cmd = ($Binary, '-p', "$ServRoot/", '-c', "$ServRoot/conf/nginx.conf");
    push @cmd, '-e', 'stderr' if _version_ge('1.19.5');
    return @cmd;
}

sub _version_ge {
    my ($want) = @_;
    my @a = split /\./, $NginxVersion;
    my @b = split /\./, $want;
    for my $i (0 .. 2) {
        return 1 if $a[$i] > $b[$i];
        return 0 if $a[$i] < $b[$i];
    }
    return 1;
}

# Runs `nginx -t`; returns its exit status (0 = accepted).
sub _nginx_test_config {
    my $pid = fork;
    die "fork: $!\n" unless defined $pid;
    if ($pid == 0) {
        my %env = _nginx_env();
        @ENV{ keys %env } = values %env;
        open STDOUT, '>>', "$ServRoot/logs/stderr.log" or _exit(127);
        open STDERR, '>&', \*STDOUT or _exit(127);
        exec { $Binary } _nginx_cmd(), '-t' or _exit(127);
    }
    waitpid $pid, 0;
    return $?;
}

sub _port_accepts {
    my ($port) = @_;
    my $s = IO::Socket::INET->new(
        PeerAddr => '127.0.0.1',
        PeerPort => $port,
        Proto    => 'tcp',
        Timeout  => 1,
    );
    return 0 unless $s;
    close $s;
    return 1;
}

# Starts nginx in its own process group.  Returns (1, '') when the server
# port accepts, (0, reason) when nginx exited or never became ready.
sub _start_nginx {
    my $pid = fork;
    die "fork: $!\n" unless defined $pid;
    if ($pid == 0) {
        setpgid(0, 0);
        my %env = _nginx_env();
        @ENV{ keys %env } = values %env;
        open STDIN, '<', '/dev/null' or _exit(127);
        open STDOUT, '>>', "$ServRoot/logs/stderr.log" or _exit(127);
        open STDERR, '>&', \*STDOUT or _exit(127);
        exec { $Binary } _nginx_cmd() or _exit(127);
    }
    setpgid($pid, $pid);
    $NginxPid = $pid;

    my $deadline = time + $StartupTimeout;
    while (time < $deadline) {
        my $r = waitpid $pid, WNOHANG;
        if ($r == $pid) {
            my $st = $?;
            $NginxPid = undef;
            _reap_group($pid);
            return (0, 'nginx exited during startup ('
                       . _describe_status($st) . ')');
        }
        # nginx writes its pid file only once every listening socket is
        # bound, so the port alone is not proof (another listen may still
        # be retrying bind() and make nginx exit).
        return (1, '') if _pid_file_is($pid) && _port_accepts($ServerPort);
        sleep 0.02;
    }
    return (0, "nginx did not accept on 127.0.0.1:$ServerPort within "
               . "${StartupTimeout}s");
}

sub _pid_file_is {
    my ($pid) = @_;
    my $text = _slurp("$ServRoot/logs/nginx.pid");
    return $text =~ /^\s*(\d+)\s*$/ && $1 == $pid;
}

sub _describe_status {
    my ($st) = @_;
    return 'signal ' . ($st & 127) if $st & 127;
    return 'exit code ' . ($st >> 8);
}

sub _wait_pid {
    my ($pid, $timeout) = @_;
    my $deadline = time + $timeout;
    while (time < $deadline) {
        my $r = waitpid $pid, WNOHANG;
        return 1 if $r == $pid || $r == -1;
        sleep 0.02;
    }
    return 0;
}

# Kills whatever is left of nginx's process group (workers orphaned by a
# killed master) and waits until the group is empty.
sub _reap_group {
    my ($pgid) = @_;
    my $deadline = time + 5;
    while (kill(0, -$pgid) && time < $deadline) {
        kill 'KILL', -$pgid;
        sleep 0.05;
    }
}

# Stops nginx: SIGQUIT (graceful), then SIGTERM, then SIGKILL to the whole
# group.  Returns '' after a clean graceful stop, else what was needed.
sub _stop_nginx {
    my $pid = $NginxPid;
    return '' unless defined $pid;
    $NginxPid = undef;
    my $problem = '';
    kill 'QUIT', $pid;
    if (!_wait_pid($pid, $StopTimeout)) {
        $problem = "nginx did not stop within ${StopTimeout}s of SIGQUIT"
                 . ' (a pending non-cancelable timer or a stuck connection?)';
        kill 'TERM', $pid;
        if (!_wait_pid($pid, 3)) {
            kill 'KILL', -$pid;
            _wait_pid($pid, 3);
        }
    }
    if (kill 0, -$pid) {
        $problem ||= 'nginx processes outlived the master';
        _reap_group($pid);
    }
    unlink "$ServRoot/logs/nginx.pid" if $problem;
    my $deadline = time + 3;
    while (_port_accepts($ServerPort) && time < $deadline) {
        sleep 0.05;
    }
    $problem ||= "127.0.0.1:$ServerPort still accepts after nginx stopped"
        if _port_accepts($ServerPort);
    return $problem;
}

# --- HTTP client ------------------------------------------------------------

sub _build_request {
    my ($block, $text, $is_raw) = @_;
    return $text if $is_raw;

    my ($line, $body) = split /\r?\n/, $text, 2;
    $line =~ s/^\s+|\s+$//g;
    my @parts = split /\s+/, $line;
    die "bad --- request line '$line'\n" unless @parts >= 2;
    push @parts, 'HTTP/1.1' if @parts == 2;
    my $method = $parts[0];
    $body = '' unless defined $body;
    $body =~ s/\n\z// unless _used_eval($block, 'request');

    my @hdr;
    my $more = _val($block, 'more_headers');
    if (defined $more) {
        die "--- more_headers must be text\n" if ref $more;
        push @hdr, grep { /\S/ } split /\r?\n/, $more;
    }
    my %have = map { /^([^:\s]+)\s*:/ ? (lc $1 => 1) : () } @hdr;
    unshift @hdr, 'Host: localhost' unless $have{host};
    push @hdr, 'Connection: close' unless $have{connection};
    if (!$have{'content-length'} && !$have{'transfer-encoding'}
        && (length $body || $method =~ /^(?:POST|PUT|PATCH)$/))
    {
        push @hdr, 'Content-Length: ' . length $body;
    }
    return join("\r\n", "@parts", @hdr) . "\r\n\r\n" . $body;
}

# Parses one HTTP response out of BYTES.  Returns a hashref with
# complete => 0 while more bytes are needed.  1xx interim responses are
# skipped.  HEAD responses have no body.
sub parse_response {
    my ($bytes, $head) = @_;
    my $r = { complete => 0, headers => {}, header_list => [], body => '' };
    my $rest = $bytes;
    for (;;) {
        my $end = index $rest, "\r\n\r\n";
        my $sep = 4;
        my $lf = index $rest, "\n\n";
        if ($lf >= 0 && ($end < 0 || $lf < $end)) {
            ($end, $sep) = ($lf, 2);
        }
        return $r if $end < 0;
        my $headtext = substr $rest, 0, $end;
        my @lines = split /\r?\n/, $headtext;
        my $status_line = shift @lines;
        if ($status_line !~ m{^HTTP/(\d+\.\d+) (\d{3})(?: (.*))?$}) {
            $r->{error} = "bad status line: $status_line";
            $r->{complete} = 1;
            return $r;
        }
        my ($proto, $status, $reason) = ($1, $2, $3);
        $rest = substr $rest, $end + $sep;
        if ($status =~ /^1/ && $status != 101) {
            next;
        }
        $r->{protocol} = $proto;
        $r->{status} = $status;
        $r->{reason} = defined $reason ? $reason : '';
        for my $l (@lines) {
            next unless $l =~ /^([^:]+):[ \t]*(.*?)[ \t]*$/;
            push @{ $r->{headers}{lc $1} }, $2;
            push @{ $r->{header_list} }, [$1, $2];
        }
        last;
    }

    my $h = $r->{headers};
    if ($head || $r->{status} =~ /^(?:204|304)$/) {
        $r->{complete} = 1;
        return $r;
    }
    if ($h->{'transfer-encoding'}
        && lc($h->{'transfer-encoding'}[-1]) =~ /chunked/)
    {
        my $body = '';
        my $pos = 0;
        for (;;) {
            my $nl = index $rest, "\r\n", $pos;
            return $r if $nl < 0;
            my $size_line = substr $rest, $pos, $nl - $pos;
            if ($size_line !~ /^([0-9a-fA-F]+)(?:;.*)?$/) {
                $r->{error} = "bad chunk size line: $size_line";
                $r->{complete} = 1;
                $r->{body} = $body;
                return $r;
            }
            my $size = hex $1;
            $pos = $nl + 2;
            if ($size == 0) {
                # trailers until an empty line
                for (;;) {
                    my $tnl = index $rest, "\r\n", $pos;
                    return $r if $tnl < 0;
                    my $t = substr $rest, $pos, $tnl - $pos;
                    $pos = $tnl + 2;
                    last if $t eq '';
                    push @{ $h->{lc $1} }, $2
                        if $t =~ /^([^:]+):[ \t]*(.*?)[ \t]*$/;
                }
                $r->{body} = $body;
                $r->{chunked} = 1;
                $r->{complete} = 1;
                return $r;
            }
            return $r if length($rest) < $pos + $size + 2;
            $body .= substr $rest, $pos, $size;
            $pos += $size;
            if (substr($rest, $pos, 2) ne "\r\n") {
                $r->{error} = 'chunk not followed by CRLF';
                $r->{complete} = 1;
                $r->{body} = $body;
                return $r;
            }
            $pos += 2;
        }
    }
    if ($h->{'content-length'}) {
        my $len = $h->{'content-length'}[0];
        if ($len !~ /^\d+$/) {
            $r->{error} = "bad Content-Length: $len";
            $r->{complete} = 1;
            return $r;
        }
        return $r if length $rest < $len;
        $r->{body} = substr $rest, 0, $len;
        $r->{complete} = 1;
        return $r;
    }
    $r->{body} = $rest;
    $r->{until_eof} = 1;
    return $r;
}

# Sends one request; returns the parsed response (status 0 and error set
# when no complete response arrived).
sub _http {
    my ($bytes, $timeout, $head) = @_;
    my $sock = IO::Socket::INET->new(
        PeerAddr => '127.0.0.1',
        PeerPort => $ServerPort,
        Proto    => 'tcp',
        Timeout  => $timeout,
    ) or return { status => 0, error => "connect: $!", headers => {},
                  header_list => [], body => '' };
    binmode $sock;
    $sock->autoflush(1);
    my $sel = IO::Select->new($sock);
    my $deadline = time + $timeout;
    my $error;

    my $off = 0;
    local $SIG{PIPE} = 'IGNORE';
    while ($off < length $bytes) {
        my $left = $deadline - time;
        if ($left <= 0) { $error = 'timeout while sending'; last }
        last unless $sel->can_write($left);
        my $n = syswrite $sock, $bytes, length($bytes) - $off, $off;
        if (!defined $n) {
            next if $! == EINTR || $! == EAGAIN;
            # the server may answer early and close (e.g. 413); read it
            last;
        }
        $off += $n;
    }

    my $buf = '';
    my $r;
    while (!$error) {
        my $left = $deadline - time;
        if ($left <= 0) { $error = "timeout after ${timeout}s"; last }
        next unless $sel->can_read($left);
        my $n = sysread $sock, $buf, 65536, length $buf;
        if (!defined $n) {
            next if $! == EINTR || $! == EAGAIN;
            last if $!{ECONNRESET} && length $buf;
            $error = "read: $!";
            last;
        }
        last if $n == 0;
        $r = parse_response($buf, $head);
        last if $r->{complete} && !$r->{until_eof};
    }
    close $sock;

    $r = parse_response($buf, $head);
    $r->{raw} = $buf;
    if (!defined $r->{status}) {
        $r->{status} = 0;
        $error ||= length $buf ? 'incomplete response head'
                               : 'connection closed without a response';
    } elsif (!$r->{complete} && !$r->{until_eof}) {
        $error ||= 'incomplete response body';
    }
    $r->{error} = $error if $error && !$r->{error};
    $r->{body} = '' unless defined $r->{body};
    return $r;
}

# --- checks -----------------------------------------------------------------

sub _header_value {
    my ($resp, $name) = @_;
    my $v = $resp->{headers}{lc $name};
    return undef unless $v;
    return join ', ', @$v;
}

sub _check_headers {
    my ($name, $resp, $spec, $like) = @_;
    my @lines = _header_lines($spec);
    my %want_count;
    for (@lines) {
        $want_count{lc $1}++ if /^\s*([^!:\s][^:]*?)\s*:/;
    }
    my %seen;
    for my $line (@lines) {
        if ($line =~ /^\s*!\s*(\S+)\s*$/) {
            my $h = $1;
            Test::More::ok(!exists $resp->{headers}{lc $h},
                           "$name - header $h absent")
                or Test::More::diag("got $h: "
                                    . _header_value($resp, $h));
            next;
        }
        if ($line !~ /^\s*([^:]+?)\s*:\s?(.*?)\s*$/) {
            Test::More::fail("$name - bad header spec '$line'");
            next;
        }
        my ($h, $want) = ($1, $2);
        my $all = $resp->{headers}{lc $h};
        my $got;
        if ($want_count{lc $h} > 1) {
            $got = $all ? $all->[ $seen{lc $h}++ ] : undef;
        } else {
            $got = _header_value($resp, $h);
        }
        if ($like) {
            my $ok = defined $got && $got =~ /$want/;
            Test::More::ok($ok, "$name - header $h like /$want/")
                or Test::More::diag(defined $got ? "got $h: $got"
                                                 : "header $h missing");
        } else {
            Test::More::is($got, $want, "$name - header $h");
        }
    }
}

sub _match {
    my ($text, $pat) = @_;
    return ref $pat ? $text =~ $pat : index($text, $pat) >= 0;
}

sub _check_error_log {
    my ($block, $name, $log, $default_no) = @_;
    for my $pat (_patterns($block, 'error_log')) {
        Test::More::ok(_match($log, $pat), "$name - error_log has: $pat")
            or Test::More::diag("error log tail:\n" . _tail($log, 30));
    }
    my @no = _patterns($block, 'no_error_log');
    for my $pat (@no) {
        Test::More::ok(!_match($log, $pat), "$name - no error_log: $pat")
            or Test::More::diag(_matching_lines($log, $pat));
    }
    if (!_has($block, 'no_error_log') && $default_no) {
        my @bad = grep { /\[(?:alert|emerg)\]/ } split /\n/, $log;
        Test::More::ok(!@bad, "$name - no [alert] or [emerg] in error log")
            or Test::More::diag(join "\n", @bad[0 .. ($#bad > 9 ? 9 : $#bad)]);
    }
}

sub _matching_lines {
    my ($log, $pat) = @_;
    my @m = grep { _match($_, $pat) } split /\n/, $log;
    @m = @m[0 .. 9] if @m > 10;
    return "matching lines:\n" . join "\n", @m;
}

# One test per block: no crash, no sanitizer report, clean stop.
sub _check_health {
    my ($name, $log, $stop_problem) = @_;
    my @problems;
    push @problems, $stop_problem if $stop_problem;
    for my $line (split /\n/, $log) {
        push @problems, "error log: $line"
            if $line =~ /AddressSanitizer|runtime error:/
            || $line =~ /exited on signal \d+/
            || $line =~ /exited with (?:fatal )?code [1-9]/;
    }
    for my $file (_sanitizer_reports()) {
        my $text = _slurp($file);
        $text = substr($text, 0, 6000) . "\n[...]" if length $text > 6000;
        push @problems, "sanitizer report $file:\n$text";
    }
    Test::More::ok(!@problems, "$name - no crash or sanitizer report")
        or Test::More::diag(join "\n", @problems);
}

sub _skip_reason {
    my ($block) = @_;
    return () unless _has($block, 'skip_nginx');
    my $spec = _val($block, 'skip_nginx');
    $spec = '' unless defined $spec;
    my ($count, $op, $ver);
    if ($spec =~ /^\s*(\d+)\s*:\s*(<=?|>=?|==|!=)\s*(\d+\.\d+\.\d+)\s*$/) {
        ($count, $op, $ver) = ($1, $2, $3);
    } elsif ($spec =~ /^\s*(<=?|>=?|==|!=)\s*(\d+\.\d+\.\d+)\s*$/) {
        ($op, $ver) = ($1, $2);
    } else {
        die "bad --- skip_nginx '$spec' (want [N:] OP x.y.z)\n";
    }
    my $ge = _version_ge($ver);
    my $eq = $NginxVersion eq $ver;
    my $hit = $op eq '<'  ? !$ge
            : $op eq '<=' ? (!$ge || $eq)
            : $op eq '>'  ? ($ge && !$eq)
            : $op eq '>=' ? $ge
            : $op eq '==' ? $eq
            :               !$eq;
    return () unless $hit;
    $count = _block_test_count($block) unless defined $count;
    return ("nginx $NginxVersion $op $ver", $count);
}

# --- running blocks ---------------------------------------------------------

sub _run_block {
    my ($block, $rep) = @_;
    my $name = $block->name;
    $name = 'TEST ' . $block->seq_num . ": $name" unless $name =~ /^TEST\b/;
    $name .= " (repeat $rep)" if $Repeat > 1;

    if (my ($reason, $count) = _skip_reason($block)) {
        SKIP: { Test::More::skip($reason, $count) }
        return;
    }

    _fresh_logs(sprintf 'block-%03d-%d', $block->seq_num, $rep);
    _fresh_html();
    _write_conf($block);

    if (_has($block, 'must_die')) {
        my $st = _nginx_test_config();
        my $died = $st != 0;
        my $how = 'nginx -t exited with ' . _describe_status($st);
        my $stop = '';
        if (!$died) {
            my ($up, $why) = _start_nginx();
            if ($up) {
                $stop = _stop_nginx();
                $how = 'nginx -t accepted the configuration and nginx started';
            } else {
                $died = 1;
                $how = $why;
            }
        }
        Test::More::ok($died, "$name - nginx refused to start")
            or Test::More::diag($how . "\n"
                                . _tail(_error_log_text(), 20));
        my $log = _error_log_text();
        _check_error_log($block, $name, $log, 0);
        _check_health($name, _slurp("$ServRoot/logs/error.log"), $stop);
        return;
    }

    my @reqs = _requests($block);
    my $timeout = _chomped(_val($block, 'timeout'));
    $timeout = $DefaultTimeout unless defined $timeout && $timeout =~ /\S/;

    my ($up, $why) = _start_nginx();
    my @resps;
    if ($up) {
        for my $i (0 .. $#reqs) {
            my $req = $reqs[$i];
            my $delay = _chomped(_per_request($block, 'request_delay', $i));
            sleep $delay if defined $delay && $delay =~ /^\d*\.?\d+$/;
            my $hook = _per_request($block, 'request_hooks', $i);
            $hook->($i, \@resps) if ref $hook eq 'CODE';
            my $bytes = _build_request($block, $req->{text}, $req->{raw});
            my ($m) = $bytes =~ /^(\S+)/;
            push @resps, _http($bytes, $timeout,
                               defined $m && $m eq 'HEAD');
        }
        my $wait = _chomped(_val($block, 'wait'));
        sleep $wait if defined $wait && $wait =~ /^\d*\.?\d+$/;
    } else {
        my $log = _error_log_text();
        Test::More::diag("$name: $why\n" . _tail($log, 30));
        @resps = map { { status => 0, error => $why, headers => {},
                         header_list => [], body => '' } } @reqs;
    }
    my $stop = _stop_nginx();

    my $stop_hook = _val($block, 'stop_hook');
    $stop_hook->(\@resps, $name) if ref $stop_hook eq 'CODE';

    for my $i (0 .. $#reqs) {
        my $r = $resps[$i];
        my $rn = @reqs > 1 ? "$name - request $i" : $name;
        my $code = _chomped(_per_request($block, 'error_code', $i));
        $code = 200 unless defined $code && $code =~ /\S/;
        Test::More::is($r->{status}, $code, "$rn - status code")
            or Test::More::diag(($r->{error} ? "$r->{error}\n" : '')
                                . "body: " . substr($r->{body}, 0, 2000));
        _check_headers($rn, $r, _per_request($block, 'response_headers', $i),
                       0);
        _check_headers($rn, $r,
                       _per_request($block, 'response_headers_like', $i), 1);
        my $body = _per_request($block, 'response_body', $i);
        if (defined $body) {
            Test::More::is($r->{body}, $body, "$rn - response body");
        }
        my $like = _per_request($block, 'response_body_like', $i);
        if (defined $like) {
            my $re = ref $like ? $like : qr/${\ _chomped($like)}/s;
            Test::More::like($r->{body}, $re, "$rn - response body like");
        }
        my $unlike = _per_request($block, 'response_body_unlike', $i);
        if (defined $unlike) {
            my $re = ref $unlike ? $unlike : qr/${\ _chomped($unlike)}/s;
            Test::More::unlike($r->{body}, $re,
                               "$rn - response body unlike");
        }
    }

    if (_has($block, 'upstream_requests')) {
        my $want = _chomped(_val($block, 'upstream_requests'));
        my $log = _slurp("$ServRoot/logs/upstream.log");
        my $got = () = $log =~ /\n/g;
        Test::More::is($got, $want, "$name - upstream requests")
            or Test::More::diag("upstream log:\n" . _tail($log, 20));
    }
    for my $pat (_patterns($block, 'upstream_log_like')) {
        my $log = _slurp("$ServRoot/logs/upstream.log");
        my $re = ref $pat ? $pat : qr/$pat/m;
        Test::More::like($log, $re, "$name - upstream log like");
    }

    my $log = _error_log_text();
    if (_has($block, 'worker_killed')) {
        # the test kills a worker on purpose: that exit is no crash
        $log = join '', grep { !/exited on signal 9\b/ }
                        split /^/, $log;
    }
    _check_error_log($block, $name, $log, 1);
    _check_health($name, $log, $stop);
}

sub run_tests {
    _setup();
    my @blocks = Test::Base::blocks();
    _validate_blocks(@blocks);
    for my $rep (1 .. $Repeat) {
        for my $block (@blocks) {
            _run_block($block, $rep);
        }
    }
}

1;
