from sentiment.cli import _run

_run()
