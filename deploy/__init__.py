"""Running Scorecard as several replicas behind a reverse proxy (README, "Several app servers")."""
