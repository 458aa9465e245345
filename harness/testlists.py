# SPDX-License-Identifier: GPL-2.0-only
"""What tests the repository has, read from its sources, and the skip
allowlist. Shared by results.py and lint.py.

  required_kselftests(top)   binaries of TEST_GEN_PROGS in the selftests'
                             Makefile, the BIN_m32 builds of M32_RUN in
                             harness/build.sh and the BIN@reloaded runs of
                             RELOAD_RUN in harness/guest/init: each must run
                             in the default guest
  required_kunit(top)        names of the kunit_suite definitions in
                             drivers/gpu/drm/uptr/tests/*.c: each must report
  kselftest_names(top, bin)  every test name kselftest_harness prints for
                             the binary (fixture[.variant].test)
  kunit_cases(top)           {suite: set of case functions}
  load_allowlist(top)        the entries of harness/skip-allowlist
"""
import glob
import os
import re

SELFTESTS = 'tools/testing/selftests/drm/uptr'
KUNIT_DIR = 'drivers/gpu/drm/uptr/tests'
ALLOWLIST = 'harness/skip-allowlist'


def _read(path):
    with open(path, errors='replace') as f:
        return f.read()


def _strip_comments(src):
    src = re.sub(r'/\*.*?\*/', ' ', src, flags=re.S)
    return re.sub(r'//[^\n]*', ' ', src)


def gen_progs(top):
    """TEST_GEN_PROGS of the selftests' Makefile, in order."""
    progs = []
    text = _read(os.path.join(top, SELFTESTS, 'Makefile'))
    text = text.replace('\\\n', ' ')
    for line in text.splitlines():
        m = re.match(r'^\s*TEST_GEN_PROGS\s*(:=|\+=|=)\s*(.*)$', line)
        if not m:
            continue
        if m.group(1) != '+=':
            progs = []
        progs += m.group(2).split('#')[0].split()
    return progs


def m32_progs(top):
    """The 32-bit runs of the guest: BIN_m32 for BIN in M32_RUN."""
    m = re.search(r'^M32_RUN="([^"]*)"', _read(os.path.join(top, 'harness',
                                                            'build.sh')),
                  re.M)
    return [b + '_m32' for b in m.group(1).split()] if m else []


def reload_runs(top):
    """The second runs on the reloaded module: BIN@reloaded for BIN in
    RELOAD_RUN of harness/guest/init."""
    m = re.search(r'^RELOAD_RUN="([^"]*)"',
                  _read(os.path.join(top, 'harness', 'guest', 'init')), re.M)
    return [b + '@reloaded' for b in m.group(1).split()] if m else []


def required_kselftests(top):
    return gen_progs(top) + m32_progs(top) + reload_runs(top)


def kunit_suites(top):
    """{suite name: source file} of every struct kunit_suite."""
    suites = {}
    rx = re.compile(r'struct\s+kunit_suite\s+\w+\s*=\s*\{[^}]*?'
                    r'\.name\s*=\s*"([^"]+)"', re.S)
    for path in sorted(glob.glob(os.path.join(top, KUNIT_DIR, '*.c'))):
        for name in rx.findall(_strip_comments(_read(path))):
            suites[name] = path
    return suites


def required_kunit(top):
    return sorted(kunit_suites(top))


def kunit_cases(top):
    """{suite: set of its case function names} (KUNIT_CASE* entries)."""
    cases = {}
    for suite, path in kunit_suites(top).items():
        src = _strip_comments(_read(path))
        cases[suite] = set(re.findall(r'KUNIT_CASE\w*\(\s*(\w+)', src))
    return cases


def kselftest_names(top, binary):
    """Every test name kselftest_harness prints for @binary."""
    if binary.endswith('_m32'):
        binary = binary[:-4]
    path = os.path.join(top, SELFTESTS, binary + '.c')
    if not os.path.exists(path):
        return set()
    src = _strip_comments(_read(path))
    variants = {}
    for fix, var in re.findall(r'FIXTURE_VARIANT_ADD\(\s*(\w+)\s*,\s*(\w+)\s*\)',
                               src):
        variants.setdefault(fix, []).append(var)
    names = set()
    for name in re.findall(r'\bTEST(?:_SIGNAL)?\(\s*(\w+)', src):
        names.add('global.' + name)
    for fix, name in re.findall(
            r'\bTEST_F(?:_TIMEOUT|_SIGNAL)?\(\s*(\w+)\s*,\s*(\w+)', src):
        for var in variants.get(fix, [None]):
            names.add('.'.join(p for p in (fix, var, name) if p))
    return names


class Entry:
    """One allowlist line: KIND NAME REASON."""

    def __init__(self, lineno, kind, name, reason):
        self.lineno, self.kind, self.name, self.reason = \
            lineno, kind, name, reason

    def key(self):
        return (self.kind, self.name)


def load_allowlist(top):
    """Entries of the allowlist, and the lines that do not parse."""
    entries, bad = [], []
    try:
        text = _read(os.path.join(top, ALLOWLIST))
    except FileNotFoundError:
        return entries, [(0, ALLOWLIST + ' missing')]
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith('#'):
            continue
        parts = line.split(None, 2)
        if len(parts) < 3 or parts[0] not in ('kselftest', 'kunit'):
            bad.append((n, 'want "kselftest BINARY:TEST REASON" or '
                           '"kunit SUITE.CASE REASON": ' + line))
            continue
        entries.append(Entry(n, parts[0], parts[1], parts[2]))
    return entries, bad


def allowlist_problems(top):
    """Why an allowlist entry does not name an existing test (a list)."""
    entries, bad = load_allowlist(top)
    problems = [f'{ALLOWLIST}:{n}: {why}' for n, why in bad]
    progs = required_kselftests(top)
    cases = kunit_cases(top)
    seen = set()
    for e in entries:
        where = f'{ALLOWLIST}:{e.lineno}'
        if e.key() in seen:
            problems.append(f'{where}: {e.name} listed twice')
        seen.add(e.key())
        if e.kind == 'kselftest':
            binary, _, test = e.name.partition(':')
            if binary not in progs:
                problems.append(f'{where}: {binary} is not in TEST_GEN_PROGS')
            elif test != '*' and test not in kselftest_names(top, binary):
                problems.append(f'{where}: {binary} has no test {test}')
        else:
            parts = e.name.split('.')
            if parts[0] not in cases:
                problems.append(f'{where}: no KUnit suite {parts[0]}')
            elif len(parts) < 2 or parts[1] not in cases[parts[0]]:
                problems.append(f'{where}: suite {parts[0]} has no case '
                                f'{parts[1] if len(parts) > 1 else "(none)"}')
    return problems
