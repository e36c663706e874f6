"""The demo's cast and story, shared by `manage.py seed_demo` and `manage.py demo_login` (never used in production)."""
