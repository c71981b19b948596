"""Pilotage settings, from the environment."""
from libs.common.settings import CommonSettings, env_float, env_int, env_str


class Settings(CommonSettings):
    service_name = "pilotage"

    def load(self, overrides):
        # The cycle label a workspace starts with (PATCH …/pilotage/state {cycle} changes it).
        self.default_cycle = env_str("PILOTAGE_DEFAULT_CYCLE", "v1")
        # How long apply waits for the owning service (boards) to answer a command.
        self.command_timeout = env_float("PILOTAGE_COMMAND_TIMEOUT", 5.0)
        # An apply that crashed mid-way leaves a claim; another apply may take it over after this.
        self.apply_claim_seconds = env_int("PILOTAGE_APPLY_CLAIM_SECONDS", 60)
        # Largest TipTap document accepted (bytes of its JSON).
        self.max_document_bytes = env_int("PILOTAGE_MAX_DOCUMENT_BYTES", 512 * 1024)
