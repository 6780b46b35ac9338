"""Model backends: the interface (:mod:`.base`), the registry of backends (:mod:`.registry`),
and one module (or package) per backend.

This file stays free of imports: prompts and designs import :mod:`workbench.backends.base`,
which runs it, and must not pull in a backend (torch, httpx) with it.
"""
