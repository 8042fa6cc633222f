"""GitHub: the Actions runner context, workflow commands and the REST client."""
