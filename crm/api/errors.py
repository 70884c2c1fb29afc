from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from crm.customers.api import duplicates_body
from crm.customers.services import DuplicatesFound


def exception_handler(exc, context):
    """Map the services' exceptions to HTTP answers.

    A Django ValidationError answers 400 with its field errors; DuplicatesFound answers 409
    with the duplicates the user may see and how to create the record anyway.
    """
    if isinstance(exc, DuplicatesFound):
        set_rollback()
        return Response(duplicates_body(exc.duplicates), status=status.HTTP_409_CONFLICT)
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            detail = {
                field if field != "__all__" else "non_field_errors": [str(m) for m in errors]
                for field, errors in exc.message_dict.items()
            }
        else:
            detail = {"non_field_errors": exc.messages}
        exc = exceptions.ValidationError(detail)
    return drf_exception_handler(exc, context)
