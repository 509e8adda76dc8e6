"""Every physical resource name of the stack, from one place.

Operators find things by these names (log groups, queues, alarms, the dashboard), and the docs and the tests
refer to them, so they are derived from the one `resourcePrefix` setting and nowhere else. The spoke stack names
the hub's roles and bus with the same properties, given the prefix as its `${ResourcePrefix}` parameter.
"""

from __future__ import annotations

from dataclasses import dataclass

# Handler entry points inside the `lambdas/` asset (the public contract in DESIGN.md).
TAGGER_HANDLER = "housekeeper.handlers.tag_deployment.handler"
DISPATCHER_HANDLER = "housekeeper.handlers.plan_sync.handler"
WORKER_HANDLER = "housekeeper.handlers.sync_repository.handler"

# The Powertools service name; Powertools Metrics adds it as the `service` dimension of every metric.
SERVICE = "ecr-housekeeper"
METRICS_NAMESPACE = "EcrHousekeeper"


@dataclass(frozen=True)
class ResourceNames:
    prefix: str

    def _name(self, suffix: str) -> str:
        return f"{self.prefix}-{suffix}"

    # Functions
    @property
    def tagger_function(self) -> str:
        return self._name("tag-deployment")

    @property
    def dispatcher_function(self) -> str:
        return self._name("plan-sync")

    @property
    def worker_function(self) -> str:
        return self._name("sync-repository")

    # Roles with fixed names: the spoke's reader role trusts exactly these two (docs/multi-account.md).
    @property
    def tagger_role(self) -> str:
        return self._name("tag-deployment-role")

    @property
    def worker_role(self) -> str:
        return self._name("sync-repository-role")

    # Queues
    @property
    def sync_queue(self) -> str:
        return self._name("sync")

    @property
    def sync_dlq(self) -> str:
        return self._name("sync-dlq")

    @property
    def tagger_dlq(self) -> str:
        return self._name("tag-deployment-dlq")

    @property
    def dispatcher_dlq(self) -> str:
        return self._name("plan-sync-dlq")

    # EventBridge rules
    @property
    def deployment_rule(self) -> str:
        return self._name("ecs-deployment-completed")

    @property
    def push_rule(self) -> str:
        return self._name("ecr-image-pushed")

    @property
    def config_change_rule(self) -> str:
        return self._name("config-changed")

    @property
    def sweep_rule(self) -> str:
        return self._name("drift-sweep")

    @property
    def forwarded_deployment_rule(self) -> str:
        """On the hub's bus: deployments that the spokes forward."""
        return self._name("forwarded-deployments")

    # The hub's event bus for events forwarded from workload accounts and regions
    @property
    def event_bus(self) -> str:
        return self._name("events")

    # The spoke's own resources (one of each per workload account and region)
    @property
    def spoke_forward_rule(self) -> str:
        return self._name("forward-ecs-deployments")

    @property
    def forwarded_push_rule(self) -> str:
        """On the hub's bus: image pushes that spokes in the registry account's other regions forward."""
        return self._name("forwarded-pushes")

    @property
    def spoke_push_rule(self) -> str:
        return self._name("forward-ecr-pushes")

    @property
    def spoke_forward_dlq(self) -> str:
        return self._name("forward-dlq")

    # Monitoring
    @property
    def alarm_topic(self) -> str:
        return self._name("alarms")

    @property
    def dashboard(self) -> str:
        return self._name("overview")

    def alarm(self, what: str) -> str:
        """Alarm names read as `<prefix>-<what>`, e.g. `ecr-housekeeper-sync-dlq-not-empty`."""
        return self._name(what)
