from crm.core.models import Channel, CompanySettings, Sector


def company_settings_get() -> CompanySettings:
    """The company's settings; the row is created with its defaults on first use."""
    company, _ = CompanySettings.objects.get_or_create(pk=CompanySettings.SINGLETON_ID)
    return company


def channel_list(*, include_inactive: bool = False):
    qs = Channel.objects.all()
    return qs if include_inactive else qs.filter(is_active=True)


def sector_list(*, include_inactive: bool = False):
    qs = Sector.objects.all()
    return qs if include_inactive else qs.filter(is_active=True)
