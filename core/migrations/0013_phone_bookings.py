"""Bookings taken on the phone: Booking.source (web|phone); Operations may take them (add_booking) and record the
money taken over the phone or at the door (add_payment, offline payments; Finance already has it).
Finance does not get add_booking: taking a customer's booking is an operations job.

Also scrubs manage links already written into notification rows (and their history) by the first access-link
emails: they carried a signed token that opens the booking; from now on rows hold the {{ manage_url }}
placeholder and the link is minted at send time."""

import re

from django.db import migrations, models

from core.migrations._grants import grant_permissions, revoke_permissions

GRANTS = {"Operations": ["add_booking", "add_payment"]}


def grant(apps, schema_editor):
    grant_permissions(apps, GRANTS)


_LINK = re.compile(r"https?://[^\s\"'<>]*/bookings/[0-9a-fA-F-]{36}/(?:pay/)?\?token=[A-Za-z0-9_\-:.]+")


def scrub_stored_links(apps, schema_editor):
    for name in ("Notification", "HistoricalNotification"):
        model = apps.get_model("core", name)
        rows = model.objects.filter(models.Q(body_text__contains="?token=") | models.Q(body_html__contains="?token="))
        for pk, text, html in rows.values_list("pk", "body_text", "body_html").iterator(chunk_size=500):
            # a plain update: the scrub removes a secret, it is not a change anyone made to the message
            model.objects.filter(pk=pk).update(body_text=_LINK.sub("{{ manage_url }}", text),
                                               body_html=_LINK.sub("{{ manage_url }}", html))


def revoke(apps, schema_editor):
    revoke_permissions(apps, GRANTS)


class Migration(migrations.Migration):

    dependencies = [
        ('core', '0012_booking_changes'),
    ]

    operations = [
        migrations.AddField(
            model_name='booking',
            name='source',
            field=models.CharField(choices=[('web', 'Website'), ('phone', 'Phone (staff)')], default='web', help_text='Who took it: the website, or staff on the phone.', max_length=10),
        ),
        migrations.AddField(
            model_name='historicalbooking',
            name='source',
            field=models.CharField(choices=[('web', 'Website'), ('phone', 'Phone (staff)')], default='web', help_text='Who took it: the website, or staff on the phone.', max_length=10),
        ),
        migrations.AddConstraint(
            model_name='booking',
            constraint=models.CheckConstraint(condition=models.Q(('source__in', ['web', 'phone'])), name='booking_source_valid'),
        ),
        migrations.RunPython(grant, revoke),
        migrations.RunPython(scrub_stored_links, migrations.RunPython.noop),
    ]
