"""``python -m pipeline_def.ingest``; see :mod:`pipeline_def.ingest.cli`."""

import sys

from pipeline_def.ingest.cli import main

sys.exit(main())
