from django.urls import path

from medgov.interfaces.web import views_staff as views

app_name = "staff"

urlpatterns = [
    path("", views.home, name="home"),
    path("practitioners/<int:practitioner_id>/", views.practitioner, name="practitioner"),
    path("practitioners/<int:practitioner_id>/credentials/", views.add_credential, name="add_credential"),
    path("import/", views.import_nppes, name="import_nppes"),
    path("expirables/", views.expirables, name="expirables"),
    path("requests/", views.requests, name="requests"),
    path("requests/<int:request_id>/", views.privilege_request, name="request"),
    path("oppe/", views.oppe_list, name="oppe"),
    path("oppe/due/", views.oppe_due, name="oppe_due"),
    path("oppe/<int:profile_id>/", views.oppe_profile, name="oppe_profile"),
    path("peer-review/", views.peer_review_list, name="peer_review"),
    path("peer-review/<int:case_id>/", views.peer_review_case, name="peer_review_case"),
    path("peer-review/committee/", views.peer_review_committee, name="peer_review_committee"),
    path("fppe/", views.fppe_list, name="fppes"),
    path("practitioners/<int:practitioner_id>/requests/new/", views.submit_request, name="submit_request"),
    path("requests/<int:request_id>/complete/", views.mark_request_complete, name="mark_request_complete"),
    path(
        "practitioners/<int:practitioner_id>/temporary-privileges/",
        views.temporary_privileges,
        name="temporary_privileges",
    ),
    path(
        "practitioners/<int:practitioner_id>/disaster-privileges/",
        views.disaster_privileges,
        name="disaster_privileges",
    ),
    path("practitioners/<int:practitioner_id>/fppe/new/", views.safety_event_fppe, name="safety_event_fppe"),
    path("practitioners/<int:practitioner_id>/peer-review/", views.refer_peer_review, name="refer_peer_review"),
    path("oppe/<int:profile_id>/fppe/", views.oppe_fppe, name="oppe_fppe"),
    path("fppe/<int:fppe_id>/", views.fppe, name="fppe"),
    path("credentials/<int:credential_id>/verify/", views.verify_credential, name="verify_credential"),
    path("import/warehouse/", views.import_warehouse, name="import_warehouse"),
    path("special-privileges/", views.special_privileges, name="special_privileges"),
    path("grants/<int:grant_id>/licence-verification/", views.licence_verification, name="licence_verification"),
    path("grants/<int:grant_id>/continuation/", views.continuation, name="continuation"),
]
