"""The ``clipseek`` command: ``main`` (parser, model commands, exit codes) and ``library``
(index, search, status, folders, rebuild, demo)."""
