"""The ``clipseek`` command: ``main`` (entry point, one line per failure, exit codes), ``parser``
(every command and its arguments), ``model_commands`` and ``library`` (the handlers), and
``progress`` (the progress line)."""
