#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""The mutants of harness/mutants.list: parse, check, apply, report.

  mutants.py check TOP            every find string matches its file once
  mutants.py names TOP            the mutants' names, one a line
  mutants.py apply TOP NAME DIR   write the mutated files into the copy DIR
                                  of the repository
  mutants.py suites TOP NAME      the kselftests the mutant's guest runs
  mutants.py verdict BASE RESULTS print "killed TESTS", "survived" or
                                  "broken" (does not build):
                                  killed when a test fails in RESULTS (the
                                  mutant's results.py output) that does not
                                  fail in BASE (the unmutated tree's)

harness/mutants.list holds blocks of "key: value" lines, one block per
mutant, separated by blank lines; '#' starts a comment line:
  mutant: NAME          short name (letters, digits, '-')
  desc: TEXT            the bug it seeds, one line
  suites: BIN...        optional: the kselftests to run (default: all;
                        "none": KUnit only)
  file: PATH            a file of the repository
  find: TEXT            exact text to find in that file, once
  replace: TEXT         what replaces it
file/find/replace may repeat for a mutant that edits several places. In
find and replace, "\\n" is a newline and "\\t" a tab.
"""
import os
import re
import sys

LIST = 'harness/mutants.list'


def unescape(text):
    return text.replace('\\n', '\n').replace('\\t', '\t')


class Mutant:
    def __init__(self, lineno):
        self.lineno = lineno
        self.name = self.desc = None
        self.suites = None
        self.edits = []     # [file, find, replace]


def parse(top):
    mutants, errors, cur = [], [], None
    with open(os.path.join(top, LIST)) as f:
        lines = f.read().splitlines()
    for n, line in enumerate(lines, 1):
        if line.startswith('#'):
            continue
        if not line.strip():
            cur = None
            continue
        key, sep, value = line.partition(': ')
        if not sep:
            key, value = line.rstrip(':'), ''
        where = f'{LIST}:{n}'
        if key == 'mutant':
            cur = Mutant(n)
            cur.name = value
            mutants.append(cur)
            if not re.fullmatch(r'[a-z0-9-]+', value):
                errors.append(f'{where}: bad mutant name {value!r}')
            continue
        if cur is None:
            errors.append(f'{where}: "{key}" outside a mutant block')
            continue
        if key == 'desc':
            cur.desc = value
        elif key == 'suites':
            cur.suites = value.split()
        elif key == 'file':
            cur.edits.append([value, None, None])
        elif key in ('find', 'replace'):
            if not cur.edits:
                errors.append(f'{where}: {key} before file')
                continue
            i = 1 if key == 'find' else 2
            if cur.edits[-1][i] is not None:
                errors.append(f'{where}: second {key} for one file line')
            cur.edits[-1][i] = unescape(value)
        else:
            errors.append(f'{where}: unknown key {key!r}')
    return mutants, errors


def problems(top):
    mutants, errors = parse(top)
    names = set()
    for m in mutants:
        where = f'{LIST}:{m.lineno} ({m.name})'
        if m.name in names:
            errors.append(f'{where}: name used twice')
        names.add(m.name)
        if not m.desc:
            errors.append(f'{where}: no desc')
        if not m.edits:
            errors.append(f'{where}: no file/find/replace')
        for path, find, repl in m.edits:
            if find is None or repl is None:
                errors.append(f'{where}: {path}: find and replace needed')
                continue
            if find == repl:
                errors.append(f'{where}: {path}: replace equals find')
            try:
                with open(os.path.join(top, path)) as f:
                    text = f.read()
            except OSError as e:
                errors.append(f'{where}: {path}: {e.strerror}')
                continue
            count = text.count(find)
            if count != 1:
                errors.append(f'{where}: {path}: find string matches '
                              f'{count} times, not once: {find!r}')
    if not mutants:
        errors.append(f'{LIST}: no mutant')
    return errors


def get(top, name):
    for m in parse(top)[0]:
        if m.name == name:
            return m
    sys.exit(f'no mutant {name}')


def apply(top, name, dest):
    m = get(top, name)
    texts = {}
    for path, find, repl in m.edits:
        if path not in texts:
            with open(os.path.join(top, path)) as f:
                texts[path] = f.read()
        if texts[path].count(find) != 1:
            sys.exit(f'{name}: {path}: find string does not match once')
        texts[path] = texts[path].replace(find, repl)
    for path, text in texts.items():
        with open(os.path.join(dest, path), 'w') as f:
            f.write(text)


def failures(path):
    with open(path, errors='replace') as f:
        return [line[6:].strip() for line in f if line.startswith('FAIL  ')]


def verdict(base, results):
    known = set(failures(base))
    got = failures(results)
    if 'build' in got:
        print('broken (the mutated tree does not build)')
        return
    # A kselftest left out by the mutant's "suites:" did not run: no kill.
    new = [t for t in got if t not in known and
           not re.fullmatch(r'kselftest: \S+: ran', t)]
    print(('killed ' + '; '.join(new)) if new else 'survived')


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == 'check':
        errs = problems(args[0])
        for e in errs:
            print(e)
        return 1 if errs else 0
    if cmd == 'names':
        for m in parse(args[0])[0]:
            print(m.name)
    elif cmd == 'desc':
        print(get(args[0], args[1]).desc)
    elif cmd == 'suites':
        print(' '.join(get(args[0], args[1]).suites or []))
    elif cmd == 'apply':
        apply(*args)
    elif cmd == 'verdict':
        verdict(*args)
    else:
        sys.exit(__doc__)
    return 0


if __name__ == '__main__':
    sys.exit(main())
