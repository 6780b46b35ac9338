"""Research workbench: administer human value surveys to language models and compare with people."""

__version__ = "0.1.0"
