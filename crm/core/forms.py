from django import forms
from django.forms.renderers import TemplatesSetting
from django.utils.translation import gettext_lazy as _

from crm.core.models import Channel, CompanySettings, Sector


class FormRenderer(TemplatesSetting):
    """Every form and field in the project renders with templates/partials/form*.html."""

    form_template_name = "partials/form.html"
    field_template_name = "partials/field.html"


class CompanySettingsForm(forms.ModelForm):
    class Meta:
        model = CompanySettings
        fields = [
            "name",
            "nif",
            "street",
            "postal_code",
            "city",
            "province",
            "phone",
            "email",
            "website",
            "logo",
            "currency",
            "default_vat_rate",
            "fiscal_year_start_month",
            "time_zone",
            "licensed_seats",
        ]
        widgets = {"logo": forms.ClearableFileInput(attrs={"accept": "image/png,image/jpeg"})}

    def clean_logo(self):
        logo = self.cleaned_data.get("logo")
        if logo and hasattr(logo, "size") and logo.size > 2 * 1024 * 1024:
            raise forms.ValidationError(_("The logo must be smaller than 2 MB."))
        return logo


class ChoiceForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    position = forms.IntegerField(label=_("Order"), min_value=0, initial=0)
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)


CHOICE_LISTS = {
    "channels": (Channel, _("Channels"), _("How customers and leads reach you.")),
    "sectors": (Sector, _("Sectors"), _("Your customers' lines of business.")),
}
