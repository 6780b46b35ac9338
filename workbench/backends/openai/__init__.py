"""The OpenAI-compatible server backend (``openai:<model>@<base_url>``, docs/servers.md).

- :mod:`.backend`: :class:`~.backend.OpenAIBackend`: options, prompts, which requests score
  an option, server detection;
- :mod:`.transport`: HTTP: bounded concurrency, retries, JSON checks, error texts;
- :mod:`.wire`: reading answers (echoed log-probs, top-k alternatives), pure functions;
- :mod:`.topk`: option log-probs from top-k alternatives.

Free of imports, like :mod:`workbench.backends`: the registry names ``.backend`` directly.
"""
