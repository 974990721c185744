# Copyright (C) 2026 The ngx_smart_module authors
# SPDX-License-Identifier: BSD-2-Clause
# Helpers for the audit and status tests: the gateway's location with a
# status page, a metric read off smart_status, the worker's pid.
package Smart::Status;

use strict;
use warnings;

use Exporter 'import';
use Smart::Conf qw(fhir_location);

our @EXPORT_OK = qw(status_location metric worker_pid);

# the FHIR location of Smart::Conf and `location = /status { smart_status; }`
sub status_location {
    return fhir_location(@_) . "    location = /status { smart_status; }\n";
}

# the value of one metric line of a smart_status page; NAME is a regex
# (labels included); -1 when the page lacks it
sub metric {
    my ($text, $name) = @_;
    return $text =~ /^$name (-?\d+)$/m ? $1 : -1;
}

# the pid of the (single) worker of the nginx under test
sub worker_pid {
    open my $f, '<', "$ENV{TEST_NGINX_SERVROOT}/logs/nginx.pid" or return;
    chomp(my $master = <$f>);
    for my $d (glob '/proc/[0-9]*') {
        open my $s, '<', "$d/stat" or next;
        my @st = split / /, scalar <$s>;
        return $st[0] if $st[3] == $master;
    }
    return;
}

1;
