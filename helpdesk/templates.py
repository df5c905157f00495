"""Admin-edited mail templates, rendered in Jinja2's immutable sandbox.

The sandbox refuses attribute tricks (``__class__``, ``mro`` …) and mutation, so a template
can only read the plain values it is given.
"""

from __future__ import annotations

from typing import Any

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from helpdesk.errors import ValidationFailed

# Plain text mail: no HTML escaping; undefined placeholders are errors, not silent blanks.
_environment = ImmutableSandboxedEnvironment(autoescape=False, undefined=StrictUndefined, keep_trailing_newline=True)

DEFAULT_ACK_SUBJECT = "[{{ token }}] {{ subject }}"
DEFAULT_ACK_BODY = """Hello {{ customer_name }},

thank you for writing to us. Your request has been received as ticket {{ ticket_number }}:
"{{ subject }}".
{% if first_response_due %}We will answer by {{ first_response_due }}.
{% endif %}
Please keep {{ token }} in the subject when you write about this request.
"""

# The placeholders each template may use (so a typo is caught when the template is saved).
ACK_PLACEHOLDERS = {"ticket_number": "T-1001", "token": "#T-1001", "subject": "Printer broken",
                    "customer_name": "Ann", "first_response_due": None}
SIGNATURE_PLACEHOLDERS = {"agent_name": "Sam", "mailbox_name": "Support"}


def render(template: str, values: dict[str, Any]) -> str:
    return _environment.from_string(template).render(**values)


def check_template(template: str, placeholders: dict[str, Any], *, field: str) -> None:
    """Refuse a template that does not compile or render with the documented placeholders."""
    try:
        render(template, placeholders)
    except TemplateError as error:
        raise ValidationFailed(f"template error: {error}", field=field) from None
