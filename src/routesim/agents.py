"""Mesa agents: enterprises read their row of the model's arrays; providers keep the books.

The monthly routing and billing of all enterprises is array work in the model
(``routesim.model.MarketModel``); an :class:`EnterpriseAgent` is a view on its row, so Mesa's
``AgentSet`` API (select, get, agg, groupby) works on live state without copying. This module
needs nothing from the model module: an agent reads the row through the names listed in
:class:`EnterpriseRows`, which the model provides.
"""

from __future__ import annotations

import collections
from typing import Protocol

import mesa
import numpy as np


class EnterpriseRows(Protocol):
    """What an enterprise agent reads from its model (one row per agent in each array)."""

    workload: object  # .industry_ids
    population: object  # .industry, .access, .requirement, .weight
    catalog: object  # .provider_ids
    preferred: np.ndarray
    active: np.ndarray
    adopted: np.ndarray
    tasks: np.ndarray
    spend: np.ndarray
    no_routing_spend: np.ndarray
    t: int


class EnterpriseAgent(mesa.Agent):
    """An agent standing for ``weight`` real enterprises; its state lives in row ``row`` of the model's arrays.

    Values (tasks, spend, savings) are those of one of the real enterprises it stands for.
    """

    model: EnterpriseRows

    def __init__(self, model: mesa.Model, row: int) -> None:
        super().__init__(model)
        self.row = row

    @property
    def weight(self) -> float:
        """Real enterprises this agent stands for."""
        return float(self.model.population.weight[self.row])

    @property
    def industry(self) -> str:
        """Industry name."""
        return self.model.workload.industry_ids[self.model.population.industry[self.row]]

    @property
    def preferred_vendor(self) -> str:
        """The provider whose everyday model it uses when not routing."""
        return self.model.catalog.provider_ids[self.model.preferred[self.row]]

    @property
    def overseas_allowed(self) -> bool:
        """Whether it may use overseas models."""
        return bool(self.model.population.access[self.row])

    @property
    def requirement(self) -> float:
        """Required success probability per task."""
        return float(self.model.population.requirement[self.row])

    @property
    def active(self) -> bool:
        """Whether it buys AI tasks this month (it may enter the market later)."""
        return bool(self.model.active[self.row])

    @property
    def routes(self) -> bool:
        """Whether it has adopted routing."""
        return bool(self.model.adopted[self.row])

    @property
    def tasks(self) -> float:
        """Tasks demanded last month."""
        return float(self.model.tasks[self.row])

    @property
    def spend_usd(self) -> float:
        """Spend last month."""
        return float(self.model.spend[self.row])

    @property
    def savings_usd(self) -> float:
        """Last month's no-routing spend at the same prices minus actual spend."""
        return float(self.model.no_routing_spend[self.row] - self.model.spend[self.row])


class ProviderAgent(mesa.Agent):
    """A lab selling models: sets its prices and keeps the books of its model-API business.

    Each month: operating income = API revenue - serving cost - the fixed cost allocated to
    the API business; its running sum from the start month is the API business's cumulative
    result. Its break-even is the first month in which the operating income of the twelve
    months ending then is positive (of the months so far, early in a run): a year in profit,
    not one good month before a loss-making year (a fixed cost that steps up after a quiet
    month would otherwise date OpenAI's break-even to 2024).
    """

    BREAK_EVEN_WINDOW = 12  # months

    def __init__(self, model: mesa.Model, index: int, name: str, origin: str, scope: str, pricing: object) -> None:
        super().__init__(model)
        self.index = index
        self.name = name
        self.origin = origin
        self.scope = scope
        self.pricing = pricing
        self.api_revenue_usd = 0.0
        self.serving_cost_usd = 0.0
        self.fixed_cost_usd = 0.0
        self.tokens = 0.0
        self.calls = 0.0
        self.operating_income_usd = 0.0
        self.cumulative_operating_income_usd = 0.0
        self.first_profitable_month: int | None = None
        self._recent_income: collections.deque[float] = collections.deque(maxlen=self.BREAK_EVEN_WINDOW)

    def account(self, api_revenue_usd: float, serving_cost_usd: float, fixed_cost_usd: float, tokens: float,
                calls: float) -> None:
        """Book one month; the first month whose trailing twelve months are in profit is the break-even."""
        self.api_revenue_usd = api_revenue_usd
        self.serving_cost_usd = serving_cost_usd
        self.fixed_cost_usd = fixed_cost_usd
        self.tokens = tokens
        self.calls = calls
        self.operating_income_usd = api_revenue_usd - serving_cost_usd - fixed_cost_usd
        self.cumulative_operating_income_usd += self.operating_income_usd
        self._recent_income.append(self.operating_income_usd)
        if self.first_profitable_month is None and sum(self._recent_income) > 0:
            self.first_profitable_month = self.model.t
