import sys

from cost_model.cli import main

sys.exit(main())
