"""Releases: the bundle of files a release publishes, its checksums and its signature.

``bundle`` writes and verifies ``SHA256SUMS``; ``sign`` signs and verifies the bundle with
OpenSSF Model Signing. Neither talks to GitHub.
"""
