"""Example strategies written with ``jules_signal.sdk``.

They are registered as ``jules.strategies`` entry points: on bars ``bollinger_reversion``,
``atr_breakout``, ``pair_spread``, ``rsi_bracket`` (with its fills) and ``limit_dip`` (with
orders); on ticks ``quote_momentum`` (quotes), ``trade_flow`` (trades) and ``book_imbalance``
(order books). docs/strategies.md walks through writing one.
"""
