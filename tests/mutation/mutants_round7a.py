"""Round 7 blind mutants, part a (issue 34): written from dsan_tf/ alone, before reading the tests.

Each entry is one plain text substitution in one file (``old`` occurs exactly once there): a plausible
one-line mistake an outside reviewer could imagine. ``tests`` are the module's own test files as picked
from their names alone (``ls tests/``). Entries whose (file, old) equals an earlier mutant's were dropped.
"""

FRESH_ROUND7A = []
