"""``python -m cnncourse.authoring.grading``: the same as ``cnncourse-grade``."""
import sys

from cnncourse.authoring.grading import main

sys.exit(main())
