"""``python -m pipeline_def.synthetic``: the stable entry point of :mod:`pipeline_def.data.synthetic`."""

from pipeline_def.data.synthetic import main
from pipeline_def.exit import exit_promptly

if __name__ == "__main__":
    exit_promptly(main())
