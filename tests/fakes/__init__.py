"""Local fakes of external providers (stdlib HTTP servers on 127.0.0.1) speaking their wire formats."""
