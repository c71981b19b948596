"""Automations settings, from the environment."""
from libs.common.settings import CommonSettings, env_float, env_int


class Settings(CommonSettings):
    service_name = "automations"

    def load(self, overrides):
        # How many times a minute one rule may run; beyond, its trace is `skipped` / `throttled` (API.md §6).
        self.rule_rate_per_min = env_int("AUTOMATIONS_RULE_RATE_PER_MIN", 60)
        # Consecutive `failed` runs after which a rule disables itself (API.md §6).
        self.max_consecutive_failures = env_int("AUTOMATIONS_MAX_CONSECUTIVE_FAILURES", 10)
        # Chains of rules stop at this depth (API.md §5).
        self.max_chain_depth = env_int("AUTOMATIONS_MAX_CHAIN_DEPTH", 5)
        # Traces are kept this many days, then pruned by the worker (an indexed delete, hourly).
        self.trace_retention_days = env_int("AUTOMATIONS_TRACE_RETENTION_DAYS", 90)
        # The due-date scheduler sleeps at most this long between two looks at the earliest due date.
        self.scheduler_max_sleep = env_float("AUTOMATIONS_SCHEDULER_MAX_SLEEP", 30.0)
        # How long boards / identity / notifications get to answer one command of an action.
        self.command_timeout = env_float("AUTOMATIONS_COMMAND_TIMEOUT", 5.0)
        # Rules per project.
        self.max_rules_per_project = env_int("AUTOMATIONS_MAX_RULES_PER_PROJECT", 500)
