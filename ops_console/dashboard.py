def dashboard_callback(request, context):
    """The "Today" page; filled from core selectors (ops console issue)."""
    return context
