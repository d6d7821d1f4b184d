"""One module per ``dynamicall`` subcommand, each with ``register(subparsers)``.

Modules whose name starts with ``_`` are shared helpers, not commands (``_options``: the
option spellings and the parsers of quantities and priors). User errors are reported
once, centrally, by :func:`dynamicall.cli.main`: a command raises ``ValueError`` (or
``FileNotFoundError``, :class:`~dynamicall._durable.OutputExistsError`) with a message
naming the problem and the fix, and never prints a traceback itself.
"""
