"""Write your own strategy: the public API (``jules_signal.engine.sdk`` documents it)."""

from jules_signal.engine.sdk import *  # noqa: F403
from jules_signal.engine.sdk import __all__ as __all__
