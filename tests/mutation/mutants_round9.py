"""Round 9 blind mutants (issue 34): written from dsan_tf/ alone, before reading the tests.

(The helper who writes them fills in this docstring: the areas, the first pass and its command, the survivors.)
"""

FRESH_ROUND9 = []
