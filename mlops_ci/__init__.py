"""mlops-ci: reproduce, compare, gate and report a DVC model on every pull request."""

__version__ = "0.1.0"
