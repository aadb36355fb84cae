"""python -m bertviz_lite.train.data: prepare every task's data and print ``describe()``."""

import json

from . import describe

print(json.dumps(describe(), indent=2))
