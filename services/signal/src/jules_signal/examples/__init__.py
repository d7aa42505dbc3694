"""Example strategies written with ``jules_signal.sdk``.

They are registered as ``jules.strategies`` entry points (``bollinger_reversion``,
``atr_breakout``, ``pair_spread``); docs/strategies.md walks through writing one.
"""
