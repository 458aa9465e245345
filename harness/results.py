#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Collect the results of a `make check` run and print one line per test.

Inputs: the static-check TAP file and the guest console log. Sources of
tests:
  * static checks           "ok NAME" / "not ok NAME" lines
  * KUnit (built-in)        KTAP on the console, nested suites
  * kselftests              "ks:BIN: " prefixed KTAP, plus "@@exit RC"
  * guest-side checks       "hs: ok NAME" / "hs: not ok NAME"
  * splat detectors         any KASAN/lockdep/WARNING/BUG/Oops/hung task/
                            RCU stall/kmemleak report is a failed test
  * completion              the guest must print HARNESS-DONE
  * presence                every kselftest binary of TEST_GEN_PROGS and
                            every KUnit suite of the sources must report
A skip that harness/skip-allowlist does not list (a per-test SKIP, or a
kselftest that exits 4 with nothing run) is a failure; a listed one is a
skip. Prints "N passed, N failed, N skipped" last; exits 1 if anything
failed.

  results.py STATIC_TAP CONSOLE     a `make check` run
  results.py --static-only TAP      only the static checks (make static)
  results.py --splats-only CONSOLE  only the splat detectors, over the
                                    kernel's lines of a vm-run console
                                    (its program's output left out)
"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import testlists  # noqa: E402

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

TS = re.compile(r'^\[\s*\d+\.\d+\]\s?')
RESULT = re.compile(r'^(?P<ind>\s*)(?P<not>not )?ok (?P<num>\d+)\s*(?:- )?'
                    r'(?P<name>[^#]*?)\s*(?:#\s*(?P<dir>\S+)(?P<why>.*))?$')
SUBTEST = re.compile(r'^(?P<ind>\s*)# Subtest: (?P<name>.*)$')
PLAN = re.compile(r'^\s*1\.\.(\d+)')

SPLATS = [
    ('KASAN report', re.compile(r'BUG: KASAN:|KASAN: .* in ')),
    ('lockdep splat', re.compile(
        r'WARNING: (possible (circular|recursive) locking|inconsistent lock'
        r'|suspicious RCU usage|bad unlock balance|held lock freed'
        r'|lock held when returning|possible irq lock inversion'
        r'|.*-safe -> .*-unsafe)|DEBUG_LOCKS_WARN_ON')),
    ('WARNING', re.compile(r'WARNING: CPU: \d+ PID: \d+ at |------------\[ cut here \]')),
    ('BUG', re.compile(r'(?<!KASAN)BUG: (?!KASAN)|kernel BUG at')),
    ('Oops', re.compile(r'Oops: |general protection fault')),
    ('hung task', re.compile(r'INFO: task .* blocked for more than')),
    ('RCU stall', re.compile(r'rcu: INFO: .*detected stall|rcu_.*detected stalls')),
    ('kmemleak', re.compile(r'unreferenced object 0x[0-9a-f]+')),
    ('UBSAN', re.compile(r'UBSAN: ')),
    ('panic', re.compile(r'Kernel panic - not syncing')),
    # Any other stack dump (dump_stack() from a debug check, e.g.
    # "FAULT_FLAG_ALLOW_RETRY missing") is a splat too.
    ('stack dump', re.compile(r'^\s*Call Trace:')),
]


class Results:
    def __init__(self, allow=None):
        self.tests = []   # (status, name, detail)
        # None: every skip is a skip; else the allowlist entries.
        self.allow = allow

    def allowed(self, name):
        """The allowlist entry that permits skipping test @name, or None."""
        for e in self.allow or []:
            if e.kind == 'kunit':
                full = 'kunit: ' + e.name
                if name == full or name.startswith(full + '.'):
                    return e
                continue
            binary, _, test = e.name.partition(':')
            prefix = f'kselftest: {binary}: '
            if name.startswith(prefix) and test in ('*', name[len(prefix):]):
                return e
        return None

    def add(self, status, name, detail=''):
        if status == 'skip' and self.allow is not None and \
                not self.allowed(name):
            status = 'fail'
            detail = ('skipped, and harness/skip-allowlist does not allow '
                      'it: ' + (detail or 'no reason given'))
        self.tests.append((status, name, detail))


def parse_ktap(lines, prefix, res):
    """Parse (possibly nested) KTAP; every leaf result is one test."""
    headers = {}
    children = {}
    plan = None
    seen_top = 0
    for raw in lines:
        m = SUBTEST.match(raw)
        if m:
            d = len(m.group('ind')) // 4
            headers[d] = m.group('name').strip()
            for k in list(headers):
                if k > d:
                    del headers[k]
            continue
        m = PLAN.match(raw)
        if m and plan is None and not raw.startswith(' '):
            plan = int(m.group(1))
            continue
        m = RESULT.match(raw)
        if not m:
            continue
        d = len(m.group('ind')) // 4
        had_children = children.get(d + 1, 0) > 0
        children[d + 1] = 0
        children[d] = children.get(d, 0) + 1
        if d == 0:
            seen_top += 1
        if had_children:
            continue
        path = [headers[k] for k in sorted(headers) if 1 <= k <= d]
        name = '.'.join([p for p in path if p] + [m.group('name').strip()])
        directive = (m.group('dir') or '').upper()
        if directive == 'SKIP':
            res.add('skip', f'{prefix}{name}', (m.group('why') or '').strip())
        elif m.group('not') and directive not in ('TODO', 'XFAIL'):
            res.add('fail', f'{prefix}{name}')
        else:
            res.add('pass', f'{prefix}{name}')
    return plan, seen_top


def excerpt(lines, idx, before=5, after=40):
    return '\n'.join(lines[max(0, idx - before):idx + after])


def check_splats(log, res):
    """Each kind of splat seen is one failed test, the first report as
    excerpt."""
    other = set()
    for kind, rx in SPLATS:
        hits = [i for i, line in enumerate(log) if rx.search(line)]
        if kind == 'stack dump':
            # Only stack dumps that no other report above explains.
            hits = [i for i in hits
                    if not any(j in other for j in range(i - 80, i + 1))]
        else:
            other.update(hits)
        if hits:
            res.add('fail', f'splat: {kind}',
                    f'{len(hits)} line(s) matched; first report:\n' + excerpt(log, hits[0]))


def read_console(console):
    try:
        with open(console, errors='replace') as f:
            return [TS.sub('', line.rstrip('\r\n')) for line in f]
    except FileNotFoundError:
        return []


def read_static(static_tap, res):
    try:
        with open(static_tap) as f:
            for line in f:
                line = line.rstrip('\n')
                if line.startswith('not ok '):
                    name, _, path = line[7:].partition('\t')
                    try:
                        with open(path) as d:
                            detail = d.read()[:4000]
                    except OSError:
                        detail = path
                    res.add('fail', 'static: ' + name, detail or 'failed')
                elif line.startswith('ok '):
                    res.add('pass', 'static: ' + line[3:])
    except FileNotFoundError:
        res.add('fail', 'static: checks ran', static_tap + ' missing')


def check_run(static_tap, console):
    entries, _ = testlists.load_allowlist(TOP)
    res = Results(entries)

    read_static(static_tap, res)

    log = read_console(console)

    # Kernel-side lines (KUnit and splats): everything not from userspace.
    kernel = [line for line in log if not line.startswith(('ks:', 'hs: '))]

    # KUnit: one top-level KTAP document per run of the executor (at boot,
    # possibly empty, and when the uptr module loads); the plans add up.
    starts = [i for i, line in enumerate(kernel)
              if line.startswith('KTAP version')]
    if not starts:
        res.add('fail', 'kunit: KTAP output present', 'no KUnit output on the console')
    else:
        plan = 0
        for i in starts:
            m = next((PLAN.match(line) for line in kernel[i + 1:i + 3]
                      if PLAN.match(line) and not line.startswith(' ')),
                     None)
            plan += int(m.group(1)) if m else 0
        _, seen = parse_ktap(kernel[starts[0]:], 'kunit: ', res)
        if seen < plan:
            res.add('fail', 'kunit: all suites reported',
                    f'plans add up to {plan} but {seen} suites reported')
    # Every suite of the sources reported a top-level result.
    suites = {m.group(1) for m in
              (re.match(r'^(?:not )?ok \d+ (\S+)', line) for line in kernel)
              if m}
    for suite in testlists.required_kunit(TOP):
        if suite in suites:
            res.add('pass', f'kunit: {suite}: reported')
        else:
            res.add('fail', f'kunit: {suite}: reported',
                    f'no top-level KTAP result for suite {suite} '
                    '(a kunit_suite of drivers/gpu/drm/uptr/tests)')

    # kselftests, per binary.
    per_bin = {}
    for line in log:
        m = re.match(r'^ks:([^:]+): ?(.*)$', line)
        if m:
            per_bin.setdefault(m.group(1), []).append(m.group(2))
    for binary, lines in per_bin.items():
        plan, seen = parse_ktap(lines, f'kselftest: {binary}: ', res)
        rc = next((int(x.split()[1]) for x in lines if x.startswith('@@exit ')), None)
        if rc is None:
            res.add('fail', f'kselftest: {binary}: finished', 'no exit status (guest crashed or hung?)')
        elif plan is None or seen < plan:
            res.add('fail', f'kselftest: {binary}: all tests reported',
                    f'plan {plan}, {seen} reported, exit {rc}:\n' + '\n'.join(lines[-30:]))
        elif rc == 4 and not any(t[1].startswith(f'kselftest: {binary}: ')
                                 for t in res.tests):
            res.add('skip', f'kselftest: {binary}: all skipped',
                    'exit 4 with no test run:\n' + '\n'.join(lines[-10:]))
        elif rc not in (0, 4) and not any(t[0] == 'fail' and t[1].startswith(f'kselftest: {binary}:')
                                          for t in res.tests):
            res.add('fail', f'kselftest: {binary}: exit status', f'exit {rc}')

    # Every binary of TEST_GEN_PROGS ran.
    for binary in testlists.required_kselftests(TOP):
        if binary in per_bin:
            res.add('pass', f'kselftest: {binary}: ran')
        else:
            res.add('fail', f'kselftest: {binary}: ran',
                    f'{binary} (TEST_GEN_PROGS) printed nothing in the guest')

    for line in log:
        if line.startswith('hs: not ok '):
            res.add('fail', 'guest: ' + line[11:])
        elif line.startswith('hs: ok '):
            res.add('pass', 'guest: ' + line[7:])

    check_splats(log, res)

    done = any(line.strip() == 'HARNESS-DONE' for line in log)
    if done:
        res.add('pass', 'guest: finished within its time budget')
    else:
        res.add('fail', 'guest: finished within its time budget',
                'no HARNESS-DONE marker (timeout, hang or crash); last lines:\n'
                + '\n'.join(log[-30:]))

    return report(res, console)


def report(res, console):
    counts = {'pass': 0, 'fail': 0, 'skip': 0}
    word = {'pass': 'PASS', 'fail': 'FAIL', 'skip': 'SKIP'}
    for status, name, detail in res.tests:
        counts[status] += 1
        print(f'{word[status]}  {name}' + (f'  ({detail})' if status == 'skip' and detail else ''))
    failures = [t for t in res.tests if t[0] == 'fail' and t[2]]
    for status, name, detail in failures:
        print(f'\n---- {name} ----\n{detail}')
    if counts['fail']:
        print(f'\nfull console log: {console}')
    print(f"{counts['pass']} passed, {counts['fail']} failed, {counts['skip']} skipped")
    return 1 if counts['fail'] else 0



def kernel_lines(log):
    """The kernel's lines of a vm-run console: the program's own output
    (between @@prog-start and @@prog-exit) left out, the kernel log that
    the guest dumps at the end kept."""
    out, in_prog = [], False
    for line in log:
        if line.startswith('@@prog-start'):
            in_prog = True
        elif line.startswith('@@prog-exit'):
            in_prog = False
        elif not in_prog:
            out.append(line)
    return out


def splats_only(console):
    log = read_console(console)
    res = Results()
    check_splats(kernel_lines(log), res)
    if not any(line.startswith('@@kernel-log-end') for line in log):
        res.add('fail', 'guest: kernel log read at the end',
                'no @@kernel-log-end marker: the guest did not dump its '
                'kernel log (crash, hang or time-out)')
    else:
        res.add('pass', 'guest: kernel log read at the end')
    return report(res, console)


def main():
    if len(sys.argv) == 3 and sys.argv[1] == '--splats-only':
        return splats_only(sys.argv[2])
    if len(sys.argv) == 3 and sys.argv[1] == '--static-only':
        res = Results()
        read_static(sys.argv[2], res)
        return report(res, sys.argv[2])
    if len(sys.argv) != 3:
        sys.exit('usage: results.py STATIC_TAP CONSOLE | '
                 '--static-only STATIC_TAP | --splats-only CONSOLE')
    return check_run(sys.argv[1], sys.argv[2])

if __name__ == '__main__':
    sys.exit(main())
