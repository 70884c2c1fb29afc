from django.conf import settings
from django.utils import translation


class UserLanguageMiddleware:
    """Choose the language of each answer.

    Pages speak Spanish, or the signed-in user's chosen language, whatever the browser says:
    the business is Spanish, and English is a per-user choice. API clients may ask for a
    language with Accept-Language.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if request.path.startswith("/api/") and "HTTP_ACCEPT_LANGUAGE" in request.META:
            language = translation.get_language_from_request(request)
        elif user is not None and user.is_authenticated and user.language:
            language = user.language
        else:
            language = settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
        try:
            response = self.get_response(request)
        finally:
            # Threads serve many users: leave no language behind for the next request.
            translation.deactivate()
        response.headers.setdefault("Content-Language", request.LANGUAGE_CODE)
        return response
