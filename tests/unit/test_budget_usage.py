"""Spend against each budget limit, for the operator's dashboard and alerts; bounded tenant labels."""

from llmswitch.budget import BudgetGuard, MemoryStore
from llmswitch.config.schema import BudgetConfig
from llmswitch.telemetry.metrics import MAX_TENANT_LABELS, RouterMetrics


async def test_usage_reports_shared_scopes_once_and_tenant_scopes_per_tenant_seen():
    config = BudgetConfig.model_validate(
        {"limits": [{"scope": "global", "amount": 10}, {"scope": "tenant_daily", "amount": 2}]}
    )
    guard = BudgetGuard(config, MemoryStore())
    for tenant, amount in (("acme", 0.5), ("globex", 1.5)):
        await guard.store.reserve(guard.keys(tenant), amount)
        guard.seen(tenant)
    assert sorted(await guard.usage()) == [
        ("global", "", 2.0, 10.0),
        ("tenant_daily", "acme", 0.5, 2.0),
        ("tenant_daily", "globex", 1.5, 2.0),
    ]


def test_tenant_labels_are_bounded():
    metrics = RouterMetrics()
    labels = {metrics.tenant_label(f"t{i}") for i in range(MAX_TENANT_LABELS + 5)}
    assert len(labels) == MAX_TENANT_LABELS + 1 and "other" in labels
    assert metrics.tenant_label("t0") == "t0"
