#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Self-test of results.py on made-up consoles, run as a static check.

Each case builds a console that a working guest would print, breaks one
thing, and checks that results.py reports it: an unlisted SKIP or an
"all skipped" kselftest fails, an allowlisted SKIP is a skip, a missing
kselftest binary or KUnit suite fails (also when KUnit ran twice, at
boot with no suite and when the module loaded), and --splats-only finds a WARNING
and a lockdep report in the kernel log dumped at the end of a vm-run but
not in the program's own output. Prints what went wrong; exits 1 if
anything did.
"""
import io
import os
import sys
import tempfile
from contextlib import redirect_stdout

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import results  # noqa: E402
import testlists  # noqa: E402

TOP = results.TOP


def good_console():
    # The executor's empty run at boot, then the module's at load.
    lines = ['KTAP version 1', '1..0', 'uptr: module loading',
             'KTAP version 1', '1..%d' % len(testlists.required_kunit(TOP))]
    for i, suite in enumerate(testlists.required_kunit(TOP), 1):
        lines += ['    KTAP version 1', f'    # Subtest: {suite}', '    1..1',
                  f'    ok 1 {suite}_case', f'ok {i} {suite}']
    for b in testlists.required_kselftests(TOP):
        lines += [f'ks:{b}: TAP version 13', f'ks:{b}: 1..2',
                  f'ks:{b}: ok 1 fix.first', f'ks:{b}: ok 2 fix.second',
                  f'ks:{b}: @@exit 0']
    return lines + ['HARNESS-DONE']


def run(lines, allow=None, mode=None):
    """results.py on @lines; returns (exit status, {name: status})."""
    with tempfile.TemporaryDirectory() as d:
        console = os.path.join(d, 'console.log')
        tap = os.path.join(d, 'static.tap')
        with open(console, 'w') as f:
            f.write('\n'.join(lines) + '\n')
        with open(tap, 'w') as f:
            f.write('ok made-up static check\n')
        saved = testlists.load_allowlist
        if allow is not None:
            testlists.load_allowlist = lambda top: (allow, [])
        out = io.StringIO()
        try:
            with redirect_stdout(out):
                if mode == 'splats':
                    rc = results.splats_only(console)
                else:
                    rc = results.check_run(tap, console)
        finally:
            testlists.load_allowlist = saved
    status = {}
    for line in out.getvalue().splitlines():
        word, _, name = line.partition('  ')
        if word in ('PASS', 'FAIL', 'SKIP'):
            status[name.split('  (')[0]] = word
    return rc, status


def main():
    errors = []
    first = testlists.required_kselftests(TOP)[0]
    suite = testlists.required_kunit(TOP)[0]
    skipped = f'kselftest: {first}: fix.second'

    def expect(what, cond):
        if not cond:
            errors.append(what)

    rc, st = run(good_console(), allow=[])
    expect('a good console passes', rc == 0 and 'FAIL' not in st.values())

    bad = [line.replace(f'ks:{first}: ok 2 fix.second',
                        f'ks:{first}: ok 2 fix.second # SKIP no debugfs')
           for line in good_console()]
    rc, st = run(bad, allow=[])
    expect('an unlisted SKIP fails', rc == 1 and st.get(skipped) == 'FAIL')
    entry = testlists.Entry(1, 'kselftest', f'{first}:fix.second', 'reason')
    rc, st = run(bad, allow=[entry])
    expect('an allowlisted SKIP is a skip',
           rc == 0 and st.get(skipped) == 'SKIP')

    bad = []
    for line in good_console():
        if line.startswith(f'ks:{first}: '):
            if line.endswith('TAP version 13'):
                bad += [line, f'ks:{first}: 1..0 # SKIP no render node',
                        f'ks:{first}: @@exit 4']
            continue
        bad.append(line)
    rc, st = run(bad, allow=[])
    expect('a kselftest that skipped everything fails',
           rc == 1 and st.get(f'kselftest: {first}: all skipped') == 'FAIL')

    bad = [line for line in good_console() if not line.startswith(f'ks:{first}:')]
    rc, st = run(bad, allow=[])
    expect('a missing kselftest binary fails',
           rc == 1 and st.get(f'kselftest: {first}: ran') == 'FAIL')

    bad = [line for line in good_console() if not line.endswith(f' {suite}')]
    rc, st = run(bad, allow=[])
    expect('a missing KUnit suite fails',
           rc == 1 and st.get(f'kunit: {suite}: reported') == 'FAIL')
    expect('a KUnit run short of its plan fails',
           st.get('kunit: all suites reported') == 'FAIL')

    prog = ['@@prog-start', 'my program prints WARNING: CPU: 0 PID: 1 at x',
            '@@prog-exit 0']
    rc, st = run(prog + ['@@kernel-log-start', '[1.0] booting',
                         '@@kernel-log-end', 'HARNESS-DONE'], mode='splats')
    expect('vm-run: program output is no splat', rc == 0)
    for kind, report in (('WARNING', 'WARNING: CPU: 1 PID: 77 at lib/x.c:3 f+0x1'),
                         ('lockdep splat',
                          'WARNING: possible circular locking dependency detected')):
        rc, st = run(prog + ['@@kernel-log-start', '[2.5] ' + report,
                             '@@kernel-log-end', 'HARNESS-DONE'],
                     mode='splats')
        expect(f'vm-run: a {kind} in the kernel log fails',
               rc == 1 and st.get(f'splat: {kind}') == 'FAIL')
    rc, st = run(prog, mode='splats')
    expect('vm-run: no kernel log dumped fails', rc == 1)

    for e in errors:
        print('results.py self-test: expected: ' + e)
    return 1 if errors else 0


if __name__ == '__main__':
    sys.exit(main())
