"""``python -m nlp_judgments.cli`` (and ``accelerate launch -m nlp_judgments.cli``): the command."""

import sys

from nlp_judgments.cli import main

sys.exit(main())
