from django.urls import path

from exportdesk.stock import views

app_name = "stock"

urlpatterns = [
    path("stock/", views.search, name="search"),
    path("stock/ports/", views.ports_for_country, name="ports"),
    path("stock/favourites/", views.visitor_favourites, name="visitor_favourites"),
    path("stock/photo/<int:pk>/<slug:size>/", views.photo, name="photo"),
    path("stock/<str:stock_number>/", views.vehicle_detail, name="vehicle"),
    path("stock/<str:stock_number>/favourite/", views.favourite, name="favourite"),
    path("mypage/favourites/", views.my_favourites, name="my_favourites"),
]
