"""Provider webhooks are plain Django views (raw body for signatures; Onfleet's check wants plain text)."""

urlpatterns: list = []
