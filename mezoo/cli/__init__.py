"""mezoo's command lines: one module per command (its flags, then one call into the library), run by
`mezoo.command.run_command`. `python -m mezoo.<command>` and the console scripts run these; no
library module imports them.
"""
