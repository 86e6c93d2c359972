"""The `gridsvc` command line (Flask CLI): one module per command group; `commands` holds the entry point.

Each command owns its unit of work, as a request does.

May import: gridsvc.app and everything below it.
"""
