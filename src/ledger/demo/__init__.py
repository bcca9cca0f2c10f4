"""``ledger demo``: a realistic, deterministic collections portfolio for exploring Ledger."""

from ledger.demo.loader import DemoSummary, load_demo
from ledger.demo.portfolio import DEMO_PREFIX, plan_case

__all__ = ["DEMO_PREFIX", "DemoSummary", "load_demo", "plan_case"]
