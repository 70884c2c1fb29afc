# Placeholder until its author lands it.
urlpatterns: list = []
