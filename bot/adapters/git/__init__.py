"""Git: trees of commits, the cached bare mirrors, the one commit builder and push."""
