"""Template filters over ops_console.formatting: {% load ops_format %} then |money, |cents, |local_time, |code."""

from django import template

from ops_console import formatting

register = template.Library()

register.filter("money", formatting.money)
register.filter("cents", formatting.cents)
register.filter("local_time", formatting.local_datetime)
register.filter("code", formatting.humanize_code)
