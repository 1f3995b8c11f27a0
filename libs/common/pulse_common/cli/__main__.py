import sys

from pulse_common.cli import main

sys.exit(main())
