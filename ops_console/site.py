from django.conf import settings


def environment_callback(request):
    env = settings.ENVIRONMENT
    colour = {"production": "danger", "staging": "warning"}.get(env, "info")
    return [env.upper(), colour]
