"""``python -m pipeline_def.ingest``: the stable entry point of :mod:`pipeline_def.data.ingest`."""

import sys

from pipeline_def.data.ingest.cli import main

if __name__ == "__main__":
    sys.exit(main())
