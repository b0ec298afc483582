from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "exportdesk.messaging"
    label = "messaging"
    verbose_name = "Messaging"
