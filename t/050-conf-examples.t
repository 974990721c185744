# Copyright (C) 2026 The ngx_smart_module authors
# SPDX-License-Identifier: BSD-2-Clause
# Every configuration in conf-examples/ passes `nginx -t` with the module
# built here and sets server_tokens off.  Paths the examples take from a
# real installation are mapped onto this tree: the module path onto
# $TEST_NGINX_MODULE (or, with TEST_NGINX_STATIC, no load_module at all),
# files under /etc/nginx/smart/ onto the test fixtures, and Debian's log,
# pid and spool places onto the temporary prefix.  Every FHIR base
# location has its twin without the trailing slash (issue 16).  The Debian
# layout (conf-examples/debian/: a conf.d snippet and a sites-available
# server) is checked inside Debian's own /etc/nginx/nginx.conf.

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname basename);
use File::Path qw(make_path remove_tree);
use File::Temp qw(tempdir);
use Test::More;

my $top = abs_path(dirname(__FILE__) . '/..');
my $module = $ENV{TEST_NGINX_MODULE};
my $static = $ENV{TEST_NGINX_STATIC};   # the module is compiled in
my $binary = $ENV{TEST_NGINX_BINARY} || '/usr/sbin/nginx';

plan skip_all => 'neither TEST_NGINX_MODULE nor TEST_NGINX_STATIC is set'
    unless $module || $static;

# what the examples call their key files, and the fixture standing in
my %fixture = (
    'issuer-jwks.json'   => 'jwks-1.json',
    'issuer2-jwks.json'  => 'jwks-2.json',
    'issuer-public.pem'  => 'rsa-1.pub.pem',
    'sandbox-hmac.secret' => 'hmac.secret',
);

my @examples = sort glob("$top/conf-examples/*.conf");
ok(@examples > 0, 'conf-examples/ holds configurations');

my $preload = '';
if ($ENV{TEST_NGINX_SANITIZE}) {
    $preload = join ' ', map {
        my $p = `gcc -print-file-name=$_`;
        chomp $p;
        $p;
    } qw(libasan.so libubsan.so);
}

sub slurp {
    my ($f) = @_;
    open my $in, '<', $f or die "$f: $!";
    local $/;
    return <$in>;
}

sub spit {
    my ($f, $text) = @_;
    open my $out, '>', $f or die "$f: $!";
    print $out $text;
    close $out;
}

# a temporary prefix with the fixtures in place of /etc/nginx/smart/
sub prefix {
    my $root = tempdir(CLEANUP => 1);
    make_path("$root/logs", "$root/conf", "$root/smart", "$root/spool");
    for my $k (keys %fixture) {
        symlink "$top/t/fixtures/$fixture{$k}", "$root/smart/$k"
            or die "symlink: $!";
    }
    return $root;
}

# the paths of a real installation, mapped onto the prefix
sub relocate {
    my ($conf, $root) = @_;
    $conf =~ s{/etc/nginx/smart/}{$root/smart/}g;
    $conf =~ s{/var/log/nginx/}{$root/logs/}g;
    $conf =~ s{/var/spool/nginx-smart/}{$root/spool/}g;
    $conf =~ s{\bpid\s+/run/[^;]+;}{pid $root/logs/nginx.pid;}g;
    return $conf;
}

sub nginx_t {
    my ($name, $root) = @_;

    local $ENV{LD_PRELOAD} = $preload if $preload;
    local $ENV{ASAN_OPTIONS} = 'detect_leaks=0' if $preload;

    my $output = `$binary -t -p $root/ -c $root/conf/nginx.conf 2>&1`;
    my $status = $?;

    is($status, 0, "$name passes nginx -t")
        or diag($output);
    unlike($output, qr/\[(?:warn|alert|emerg)\]/, "$name: no warnings")
        or diag($output);
}

# every `location PREFIX/fhir/` has `location = PREFIX/fhir` beside it
sub bases_without_slash {
    my ($name, $code) = @_;
    my @bases = $code =~ m{\blocation\s+(/\S*fhir)/\s*\{}g;
    ok(@bases > 0, "$name: has a FHIR base location");
    for my $b (@bases) {
        like($code, qr{\blocation\s*=\s*\Q$b\E\s*\{\s*rewrite\s+\^\s+
                       \Q$b\E/\s+last\s*;}x,
             "$name: $b without the slash is rewritten to $b/");
    }
}

for my $example (@examples) {
    my $name = basename($example);
    my $root = prefix();
    my $conf = slurp($example);

    # the NGINX version stays private (issue 12, finding 10): set once for
    # the whole http block, never turned back on below it
    (my $code = $conf) =~ s/#[^\n]*//g;
    like($code, qr/\bhttp\s*\{\s*server_tokens\s+off\s*;/,
         "$name: server_tokens off first in the http block");
    unlike($code, qr/\bserver_tokens\s+(?!off\s*;)/,
           "$name: server_tokens never anything but off");
    unlike($code, qr/\b(?:pid|error_log|access_log|smart_audit_spool)\s+logs\//,
           "$name: no path under the prefix (Debian's is /usr/share/nginx)");
    bases_without_slash($name, $code);

    if ($static) {
        $conf =~ s{^\s*load_module\s+\S+;\n}{}m
            or fail("$name: has no load_module line"), next;
    } else {
        $conf =~ s{^(\s*load_module\s+)\S+;}{$1$module;}m
            or fail("$name: has no load_module line"), next;
    }
    spit("$root/conf/nginx.conf", relocate($conf, $root));
    nginx_t($name, $root);
}

# Debian's layout: Debian's nginx.conf, its modules-enabled include standing
# for the package's 50-mod-http-smart.conf, conf.d/ and sites-enabled/
# holding the two files
SKIP: {
    my $main = '/etc/nginx/nginx.conf';
    skip "no Debian $main", 1 unless -f $main;

    my $root = prefix();
    my $dir = "$top/conf-examples/debian";
    make_path("$root/conf.d", "$root/sites-enabled");

    my $http = slurp("$dir/smart-http.conf");
    my $server = slurp("$dir/smart-gateway");
    (my $code = $http) =~ s/#[^\n]*//g;
    like($code, qr/^\s*server_tokens\s+off\s*;/, 'debian: server_tokens off');
    unlike($code, qr/\bload_module\b/, 'debian: modules-enabled loads it');
    ($code = $server) =~ s/#[^\n]*//g;
    bases_without_slash('debian/smart-gateway', $code);

    spit("$root/conf.d/smart-http.conf", relocate($http, $root));
    spit("$root/sites-enabled/smart-gateway", relocate($server, $root));

    my $conf = slurp($main);
    my $load = $static ? '' : "load_module $module;";
    $conf =~ s{^\s*include\s+/etc/nginx/modules-enabled/\*\.conf;}{$load}m
        or fail('debian: nginx.conf includes modules-enabled');
    $conf =~ s{/etc/nginx/conf\.d/}{$root/conf.d/}
        or fail('debian: nginx.conf includes conf.d');
    $conf =~ s{/etc/nginx/sites-enabled/}{$root/sites-enabled/}
        or fail('debian: nginx.conf includes sites-enabled');
    $conf =~ s{^\s*user\s+[^;]+;}{}m;
    spit("$root/conf/nginx.conf", relocate($conf, $root));
    nginx_t('debian layout', $root);
}

done_testing();
