"""``python -m nets.mnist``: the training command (see :func:`nets.mnist.main`)."""
from .cli import main

raise SystemExit(main())
