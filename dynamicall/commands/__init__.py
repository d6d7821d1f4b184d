"""One module per ``dynamicall`` subcommand, each with ``register(subparsers)``."""
