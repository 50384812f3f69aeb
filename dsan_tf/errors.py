"""The common base of the errors a user can act on.

Every error type that names a user's mistake or a failure the code can explain
(bad data, an unusable output path, a model that does not load, a refused run, ...)
subclasses :class:`UserError`, so the command line's one error boundary
(:mod:`dsan_tf.cli`) reports all of them the same way: one ``error: ...`` line and a
non-zero exit, no traceback. The subclasses keep their other ancestry (most are
``ValueError``), so existing ``except ValueError`` code still catches them.
"""


class UserError(Exception):
    """An error whose message alone tells the user what went wrong and what to do.

    ``status``, when set on an instance or subclass, is the exit status the command
    line uses for it (default: the command's own, usually 2).
    """

    status = None
