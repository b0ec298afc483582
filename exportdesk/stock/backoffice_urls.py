from django.urls import path

from exportdesk.stock import backoffice

app_name = "stock_backoffice"

urlpatterns = [
    path("", backoffice.vehicle_list, name="vehicle_list"),
    path("new/", backoffice.vehicle_create, name="vehicle_create"),
    path("import/", backoffice.vehicle_import, name="vehicle_import"),
    path("<int:pk>/", backoffice.vehicle_edit, name="vehicle_edit"),
    path("<int:pk>/status/", backoffice.vehicle_status, name="vehicle_status"),
    path("<int:pk>/photos/", backoffice.photo_upload, name="photo_upload"),
    path("photos/<int:pk>/delete/", backoffice.photo_delete, name="photo_delete"),
    path("pricing/", backoffice.pricing, name="pricing"),
    path("tables/<slug:slug>/", backoffice.table_list, name="table_list"),
    path("tables/<slug:slug>/new/", backoffice.table_edit, name="table_add"),
    path("tables/<slug:slug>/<int:pk>/", backoffice.table_edit, name="table_edit"),
]
