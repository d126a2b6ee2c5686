"""``python -m camaudit``."""

from camaudit.cli import main

main()
