"""Agents settings, from the environment (every variable is in README.md's table)."""
from libs.common.settings import CommonSettings, env_float, env_int, env_str, mask


class Settings(CommonSettings):
    service_name = "agents"

    def load(self, overrides):
        # The LLM behind missions and the project wizard: `local` (a deterministic planner, no network)
        # or `openai` (any OpenAI-compatible chat-completions server).
        self.llm_provider = env_str("AGENTS_LLM_PROVIDER", "local")
        self.llm_base_url = env_str("AGENTS_LLM_BASE_URL", "https://api.openai.com/v1")
        self.llm_model = env_str("AGENTS_LLM_MODEL", "gpt-4o-mini")
        self.llm_api_key = env_str("AGENTS_LLM_API_KEY", "")
        self.llm_timeout = env_float("AGENTS_LLM_TIMEOUT", 60.0)
        self.llm_max_retries = env_int("AGENTS_LLM_MAX_RETRIES", 3)
        self.llm_backoff = env_float("AGENTS_LLM_BACKOFF", 1.0)
        # How long boards / pilotage get to answer one command of a tool.
        self.command_timeout = env_float("AGENTS_COMMAND_TIMEOUT", 5.0)
        # Missions a worker process runs at once (threads).
        self.runner_threads = env_int("AGENTS_RUNNER_THREADS", 8)
        # A running mission's lease: renewed every third of it by its worker; a mission whose lease ran
        # out (its worker died) is resumed, or failed with a reason, by the next recovery sweep.
        self.run_lease_s = env_float("AGENTS_RUN_LEASE_S", 15.0)
        self.recovery_interval_s = env_float("AGENTS_RECOVERY_INTERVAL_S", 5.0)
        # A pause between two steps of the local planner (0 in production; tests of crash recovery use it).
        self.local_step_delay_ms = env_int("AGENTS_LOCAL_STEP_DELAY_MS", 0)
        # The mission SSE stream: safety poll (one per web process, for all its streams), keep-alive,
        # longest life of one connection.
        self.stream_poll_ms = env_int("AGENTS_STREAM_POLL_MS", 3000)
        self.stream_heartbeat = env_float("AGENTS_STREAM_HEARTBEAT", 15.0)
        self.stream_max_age = env_float("AGENTS_STREAM_MAX_AGE", 3600.0)

    def describe(self) -> dict:
        return {"provider": self.llm_provider, "baseUrl": self.llm_base_url, "model": self.llm_model,
                "apiKey": mask(self.llm_api_key)}
