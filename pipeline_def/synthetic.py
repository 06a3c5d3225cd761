"""``python -m pipeline_def.synthetic``: the stable entry point of :mod:`pipeline_def.data.synthetic`."""

import sys

from pipeline_def.data.synthetic import main

if __name__ == "__main__":
    sys.exit(main())
