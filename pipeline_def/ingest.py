"""``python -m pipeline_def.ingest``: the stable entry point of :mod:`pipeline_def.data.ingest`."""

from pipeline_def.data.ingest.cli import main
from pipeline_def.exit import exit_promptly

if __name__ == "__main__":
    exit_promptly(main())
