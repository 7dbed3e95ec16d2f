#!/usr/bin/env python3
"""Prints a Stryker --mutate pattern per critical statement of the given C# files: the lines that fsync, rename,
compare, check or delete (issue 13's target: no surviving mutant there). Stryker keeps a mutant when a pattern's
span, in characters from the start of the file, contains the mutant's whole span; a statement that runs over
several lines is taken whole, so a mutant of its condition is kept too.

Usage: critical-spans.py FILE...   (prints one pattern per line: **/Cellar.Core/…/File.cs{start..end})
"""
import re
import sys

# What makes a line critical. Deliberately broad: a false positive costs one more mutant tried, a miss hides one.
CRITICAL = re.compile(
    r"Fsync|fsync|fdatasync|Flush\(true\)"                      # durability
    r"|File\.Move|File\.Replace|\.Commit\(|Rename|rename|Publish|Swap|Link\("  # renames and publishing
    r"|File\.Delete|Directory\.Delete|\.Delete\(|unlink|DeleteObject|Remove"   # deletes
    r"|SequenceEqual|string\.Equals|\.Equals\(|Compare|Mismatch|Sha256|HexHash|Md5|MD5|ETag|ContentLength"  # compares
    r"|integrity_check|quick_check|foreign_key_check|Verif|Rotten|Check|Undecodable|Confirm"  # checks
)
SKIP = re.compile(r"^\s*(//|///|\*|using |namespace |\[)")


def statement_end(lines, i):
    """The last line of the statement that starts on line i: until a line ends a statement or opens a block."""
    for j in range(i, min(i + 8, len(lines))):
        if lines[j].rstrip().endswith((";", "{", "}", ",")):
            return j
    return i


GUARD = re.compile(r"^\s*(if|else if|while|catch|foreach|for)\b|^\s*(\|\||&&|\?|:)")


def guard_of(lines, i):
    """The line of the if/while/catch that decides whether line i runs (its block's header), or None."""
    j = i - 1
    while j >= 0 and lines[j].strip() in ("{", ""):
        j -= 1
    if j >= 0 and j < i - 1 and GUARD.match(lines[j]):
        return j
    if j >= 0 and j == i - 1 and GUARD.match(lines[j]) and not lines[j].rstrip().endswith(";"):
        return j
    return None


def spans(text):
    lines = text.split("\n")
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line) + 1)
    found = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if not SKIP.match(line) and CRITICAL.search(line):
            end = statement_end(lines, i)
            # A condition that decides whether a critical statement runs is as critical as the statement.
            guard = guard_of(lines, i)
            if guard is not None:
                found.append((starts[guard] + len(lines[guard]) - len(lines[guard].lstrip()),
                              starts[guard] + len(lines[guard].rstrip())))
            first = starts[i] + len(line) - len(line.lstrip())
            found.append((first, starts[end] + len(lines[end].rstrip())))
            i = end + 1
        else:
            i += 1
    return found


for path in sys.argv[1:]:
    with open(path, encoding="utf-8-sig") as f:
        found = spans(f.read())
    found = sorted(set(found))
    if found:
        name = path[path.index("Cellar.Core/"):]
        print("**/" + name + "".join("{%d..%d}" % s for s in found))
