"""Write your own strategy: the public API (``jules_signal.engine.sdk`` documents it)."""

from jules_signal.engine.sdk import Bar, Features, Field, Params, Strategy, Timer

__all__ = ["Bar", "Features", "Field", "Params", "Strategy", "Timer"]
