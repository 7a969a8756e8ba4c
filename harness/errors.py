"""Errors a user can fix. Each carries one line: what was wrong and how to fix it."""


class HarnessError(Exception):
    """A user-fixable problem; the CLI prints it as one line and exits 2."""


class ConfigError(HarnessError):
    pass


class RegistryError(HarnessError):
    pass


class StoreError(HarnessError):
    pass


class ItemFailed(Exception):
    """Raised by an item to stop with a clear message (divergence, bad state) instead of a traceback."""


class Cancelled(Exception):
    """The user (panel) asked the running item to stop."""
