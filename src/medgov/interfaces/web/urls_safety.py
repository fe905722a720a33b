from django.urls import path

from medgov.interfaces.web import views_safety as views

app_name = "safety"

urlpatterns = [
    path("", views.home, name="home"),
    path("report/", views.report, name="report"),
    path("report/<int:event_id>/", views.report, name="edit_draft"),
    path("follow-up/", views.follow_up, name="follow_up"),
    path("trends/", views.trends, name="trends"),
    path("events/<int:event_id>/", views.event_detail, name="event"),
    path("events/<int:event_id>/triage/", views.triage, name="triage"),
    path("events/<int:event_id>/confirm-sentinel/", views.confirm_sentinel, name="confirm_sentinel"),
    path("events/<int:event_id>/open-rca/", views.open_rca, name="open_rca"),
    path("events/<int:event_id>/close/", views.close_event, name="close"),
    path("events/<int:event_id>/reopen/", views.reopen_event, name="reopen"),
    path("events/<int:event_id>/remove/", views.remove_event, name="remove"),
    path("events/<int:event_id>/messages/", views.send_message, name="message"),
    path("events/<int:event_id>/attachments/<int:attachment_id>/", views.attachment, name="attachment"),
    path("events/<int:event_id>/just-culture/", views.just_culture, name="just_culture"),
    path("events/<int:event_id>/rca/", views.rca, name="rca"),
    path("actions/<int:action_id>/", views.action, name="action"),
]
