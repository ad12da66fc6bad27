"""GitHub REST through PyGithub; GithubException is translated into Pledge errors here only."""
