import sys

from barback.cli import main

sys.exit(main())
