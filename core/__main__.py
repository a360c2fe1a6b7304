"""`python -m core ...` entry point; the commands live in core/cli.py."""
import sys

from .cli import main

sys.exit(main())
