from django.urls import path

from medgov.interfaces.web import views_reports as views

app_name = "reports"

urlpatterns = [
    path("", views.home, name="home"),
    path("board/generate/", views.generate, name="generate"),
    path("board/<str:quarter>/", views.board_report, name="board"),
    path("board/stored/<int:report_id>/", views.stored_report, name="stored"),
    path("board/stored/<int:report_id>/progress/", views.progress, name="progress"),
    path("board/stored/<int:report_id>/pdf/", views.stored_pdf, name="pdf"),
]
