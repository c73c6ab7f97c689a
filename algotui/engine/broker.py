"""The simulated broker: order book, fills, sizing, commission, slippage and brackets.

Conventions (the README repeats them):

- One net position at a time. Several trades in the same direction may be open together; an
  entry against the open position first closes every open trade, then opens the new one
  (stop-and-reverse).
- Market orders placed on bar ``i`` fill at bar ``i+1``'s open (``fill="next-open"``) or at bar
  ``i``'s close (``fill="close"``). An order still pending after the last bar never fills.
- Stop and limit orders, and the stop-loss (SL) and take-profit (TP) of open trades, are checked
  against each bar's high and low. A gap through the level fills at the open. When SL and TP both
  lie inside one bar the stop is assumed hit first. On each bar: pending orders in the order they
  were placed (market orders at the open), then SL/TP of open trades, including a trade opened at
  this bar's open; a trade opened by a stop or limit order inside the bar has its brackets
  checked from the next bar.
- Slippage is a fraction of price, always against you: buys fill higher, sells lower.
- Commission is ``fixed + rate * units * fill price``, charged on entry and again on exit.
- Default size is all-in: whole units that the available equity buys at the fill price, leaving
  room for the entry commission. ``0 < size < 1`` is that fraction of available equity; ``size
  >= 1`` is a number of whole units; ``units=`` any positive number of units (fractional).
  Strategies with ``fractional = True`` size all-in and fractions in fractional units.
- Available equity is equity less the value of open positions at the current price; an entry
  that costs more is rejected and counted.
"""

import sys
from collections.abc import Sequence
from dataclasses import dataclass

from algotui.engine.trade import Trade

_ALL_IN = 1 - sys.float_info.epsilon


@dataclass(slots=True, eq=False)
class Order:
    """A pending order. ``trade`` is set for an order that closes that one trade."""

    is_buy: bool
    size: float | None = None
    units: float | None = None
    limit: float | None = None
    stop: float | None = None
    sl: float | None = None
    tp: float | None = None
    reason: str = ""
    placed_bar: int = 0
    close_all: bool = False

    @property
    def is_market(self) -> bool:
        """True for an order with neither a limit nor a stop price."""
        return self.limit is None and self.stop is None


@dataclass(slots=True)
class Fill:
    """One thing the broker did on a bar: a trade opened (``exit=False``) or closed."""

    trade: Trade
    exit: bool
    reason: str


class Broker:
    """Holds cash, open trades and pending orders, and fills orders against bars."""

    def __init__(
        self,
        opens: list[float],
        highs: list[float],
        lows: list[float],
        closes: list[float],
        *,
        cash: float,
        commission: float = 0.0,
        commission_fixed: float = 0.0,
        slippage: float = 0.0,
        fractional: bool = False,
    ) -> None:
        self._o, self._h, self._l, self._c = opens, highs, lows, closes
        self.initial_cash = float(cash)
        self.cash = float(cash)  # realised balance: initial + realised P&L - commissions
        self.commission = commission
        self.commission_fixed = commission_fixed
        self.slippage = slippage
        self.fractional = fractional
        self.orders: list[Order] = []
        self.trades: list[Trade] = []
        self.closed: list[Trade] = []
        self.fills: list[Fill] = []
        self.rejected_orders = 0
        self.units = 0.0  # signed net units
        self.cost = 0.0  # signed sum of units * entry price
        self._next_id = 1
        self.has_brackets = False

    # -- account -------------------------------------------------------------------------------

    def equity(self, price: float) -> float:
        """Cash plus the open trades' unrealised profit at ``price``."""
        return self.cash + self.units * price - self.cost

    def available(self, price: float) -> float:
        """Equity not tied up in open positions (never negative)."""
        return max(0.0, self.equity(price) - abs(self.units) * price)

    def _fee(self, units: float, price: float) -> float:
        return self.commission_fixed + self.commission * units * price

    def _slipped(self, price: float, is_buy: bool) -> float:
        if not self.slippage:
            return price
        return price * (1 + self.slippage) if is_buy else price * (1 - self.slippage)

    # -- order entry ---------------------------------------------------------------------------

    def submit(self, order: Order) -> Order:
        """Queue an order; it is processed from the next fill opportunity on."""
        self.orders.append(order)
        return order

    def cancel_all(self) -> None:
        """Cancel every pending order."""
        self.orders.clear()

    # -- processing ----------------------------------------------------------------------------

    def process_open(self, i: int) -> None:
        """Process bar ``i`` before the strategy sees it: pending orders, then SL/TP."""
        o = self._o[i]
        orders = self.orders
        if len(orders) == 1 and orders[0].limit is None and orders[0].stop is None:
            # the common case: one market order, filled at the open
            order = orders.pop()
            self._execute(order, o, i)
            if self.has_brackets:
                self._check_brackets(i, o, self._h[i], self._l[i], ())
            return
        h, lo = self._h[i], self._l[i]
        deferred: list[Trade] = []
        for order in list(orders):
            price = self._trigger_price(order, o, h, lo)
            if price is not None:
                orders.remove(order)
                opened = self._execute(order, price, i)
                if opened is not None and not order.is_market:
                    deferred.append(opened)
        if self.has_brackets:
            self._check_brackets(i, o, h, lo, deferred)

    def process_close(self, i: int) -> None:
        """Fill market orders placed on bar ``i`` at its close (``fill="close"``)."""
        c = self._c[i]
        for order in list(self.orders):
            if order.placed_bar == i and order.is_market:
                self.orders.remove(order)
                self._execute(order, c, i)

    def _trigger_price(self, order: Order, o: float, h: float, lo: float) -> float | None:
        """The price at which ``order`` fills on this bar, or None if it does not."""
        stop, limit = order.stop, order.limit
        if stop is not None:
            hit = h >= stop if order.is_buy else lo <= stop
            if not hit:
                return None
            triggered = max(o, stop) if order.is_buy else min(o, stop)
            if limit is None:
                return triggered
            # A triggered stop-limit becomes a limit order: it fills now only if the price at
            # the trigger is within the limit; otherwise it waits for a later bar.
            order.stop = None
            if order.is_buy:
                return triggered if triggered <= limit else None
            return triggered if triggered >= limit else None
        if limit is not None:
            if order.is_buy:
                return min(o, limit) if lo <= limit else None
            return max(o, limit) if h >= limit else None
        return o

    def _check_brackets(
        self, i: int, o: float, h: float, lo: float, deferred: Sequence[Trade]
    ) -> None:
        """Close trades whose stop-loss or take-profit lies in bar ``i`` (the stop first).

        A trade opened on this bar by a stop or limit order has its brackets checked from
        the next bar on: inside one bar the order of the fill and the bracket is unknown.
        """
        for trade in list(self.trades):
            if trade in deferred:
                continue
            sl, tp = trade.sl, trade.tp
            if trade.is_long:
                if sl is not None and lo <= sl:
                    self._close_trade(trade, min(o, sl), i, "stop_loss")
                elif tp is not None and h >= tp:
                    self._close_trade(trade, max(o, tp), i, "take_profit")
            else:
                if sl is not None and h >= sl:
                    self._close_trade(trade, max(o, sl), i, "stop_loss")
                elif tp is not None and lo <= tp:
                    self._close_trade(trade, min(o, tp), i, "take_profit")
        self.has_brackets = any(t.sl is not None or t.tp is not None for t in self.trades)

    def _execute(self, order: Order, price: float, i: int) -> Trade | None:
        """Fill ``order`` at ``price`` (before slippage) on bar ``i``; the trade it opened."""
        if order.close_all:
            self._close_every(price, i, "signal", order.reason)
            return None
        is_buy = order.is_buy
        trades = self.trades
        # An entry against the open position closes it first (stop-and-reverse).
        if trades and trades[0].is_long != is_buy:
            self._close_every(price, i, "signal", order.reason)
        fill = self._slipped(price, is_buy) if self.slippage else float(price)
        available = self.available(fill)
        units = self._size(order, fill, available)
        if units <= 0:
            self.rejected_orders += 1
            return None
        fee = self.commission_fixed + self.commission * units * fill
        if units * fill + fee > available * (1 + 1e-12):
            self.rejected_orders += 1
            return None
        sl, tp = order.sl, order.tp
        trade = Trade(self._next_id, is_buy, units, i, fill, fee, sl, tp, order.reason)
        self._next_id += 1
        trades.append(trade)
        self.cash -= fee
        signed = units if is_buy else -units
        self.units += signed
        self.cost += signed * fill
        if sl is not None or tp is not None:
            self.has_brackets = True
        self.fills.append(Fill(trade, False, order.reason))
        return trade

    def _size(self, order: Order, fill: float, available: float) -> float:
        if order.units is not None:
            return float(order.units)
        size = _ALL_IN if order.size is None else order.size
        if size >= 1:
            return float(int(size))
        budget = available * size - self.commission_fixed
        if budget <= 0:
            return 0.0
        per_unit = fill + fill * self.commission
        if self.fractional:
            return budget / per_unit
        return float(int(budget // per_unit))

    def _close_trade(
        self, trade: Trade, price: float, i: int, exit_reason: str, reason: str = ""
    ) -> None:
        is_long = trade.is_long
        size = trade.size
        fill = self._slipped(price, not is_long) if self.slippage else float(price)
        fee = self.commission_fixed + self.commission * size * fill
        trade.exit_bar = i
        trade.exit_price = fill
        trade.exit_commission = fee
        trade.exit_reason = exit_reason
        trades = self.trades
        trades.remove(trade)
        self.closed.append(trade)
        move = fill - trade.entry_price
        if is_long:
            self.units -= size
            self.cost -= size * trade.entry_price
        else:
            self.units += size
            self.cost += size * trade.entry_price
            move = -move
        if not trades:
            self.units = 0.0
            self.cost = 0.0
        self.cash += move * size - fee
        if exit_reason == "stop_loss":
            reason = reason or f"stop loss at {trade.sl:g}"
        elif exit_reason == "take_profit":
            reason = reason or f"take profit at {trade.tp:g}"
        self.fills.append(Fill(trade, True, reason))

    def _close_every(self, price: float, i: int, exit_reason: str, reason: str) -> None:
        for trade in list(self.trades):
            self._close_trade(trade, price, i, exit_reason, reason)

    def close_all(self, i: int, price: float, exit_reason: str, reason: str) -> None:
        """Close every open trade at ``price`` on bar ``i`` and cancel every pending order
        (end of data, out of money)."""
        self._close_every(price, i, exit_reason, reason)
        self.orders.clear()
