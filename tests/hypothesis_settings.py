"""Hypothesis settings shared by the property tests (issue 34): few examples, no deadline (a shared
two-core machine's timings vary), and no shrinking inside the mutation check (tests/mutation/run.py
sets DSAN_MUTATION_RUN=1): there a failure only has to be found, not minimised."""

import os

from hypothesis import HealthCheck, Phase, settings

PHASES = tuple(p for p in Phase if p is not Phase.shrink) if os.environ.get("DSAN_MUTATION_RUN") else tuple(Phase)


def fast(max_examples: int = 40):
    return settings(max_examples=max_examples, deadline=None, phases=PHASES,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
