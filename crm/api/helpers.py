"""Small pieces every app's api.py shares."""

from typing import Any


def validated(serializer_class, request, *, partial: bool = False) -> dict[str, Any]:
    """Check the request body with an input serializer (400 with field errors if wrong)."""
    serializer = serializer_class(data=request.data, partial=partial, context={"request": request})
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)
