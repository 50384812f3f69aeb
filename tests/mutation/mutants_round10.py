"""Round 10 blind mutants (issue 34): written from dsan_tf/ alone, before reading the tests.

(The helper fills this docstring and FRESH_ROUND10.)
"""

FRESH_ROUND10 = [
]
