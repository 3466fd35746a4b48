"""Where log bytes come from: local files, files that grow, and AWS."""

import threading
from collections.abc import Callable

#: A job that feeds followed files while the viewer or a following query runs (AWS polling,
#: a CloudWatch live tail): it runs until the event is set and reports errors as text.
Background = Callable[[threading.Event, Callable[[str], None]], None]
