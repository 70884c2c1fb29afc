def company(request):
    """The company's settings for the page header; loaded once per request by middleware."""
    return {"company": getattr(request, "company", None)}
