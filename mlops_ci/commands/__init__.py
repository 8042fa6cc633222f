"""One plain function per CLI command: typed keyword arguments in, an exit code out."""
