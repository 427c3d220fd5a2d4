"""The grantee's answer to an award offer: accept as the authorized official, or refuse.

The forms check formats only; whether a name, title, consent or reason is missing is decided by
the award lifecycle's guards, whose reasons the page shows next to these fields."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, StringField, SubmitField, TextAreaField
from wtforms.validators import Length, Optional


class AcceptanceForm(FlaskForm):
    version = HiddenField()
    name = StringField(
        "Your full name",
        validators=[Optional(), Length(max=200, message="Keep the name under 200 characters.")],
        description="Type your name as the authorized official who accepts the award.",
        render_kw={"autocomplete": "name"},
    )
    title = StringField(
        "Your title",
        validators=[Optional(), Length(max=200, message="Keep the title under 200 characters.")],
        description="For example: Mayor, County Executive, Director of International Affairs.",
        render_kw={"autocomplete": "organization-title"},
    )
    consent = BooleanField("I have authority to accept this award and agree to its terms")
    submit = SubmitField("Accept the award")

    def __init__(self, *args: Any, organization_name: str = "", **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.consent.label.text = (
            f"I have authority to accept this award for {organization_name} "
            "and agree to its terms and conditions"
        )


class RefusalForm(FlaskForm):
    """Rendered on the same page as the acceptance form, with the prefix "refusal" so that the
    two forms' fields never share a name or an id."""

    PREFIX = "refusal"

    version = HiddenField()
    reason = TextAreaField(
        "Reason for refusing",
        validators=[
            Optional(),
            Length(max=4000, message="Keep the reason under 4,000 characters."),
        ],
        description="The program office reads this; the award's money returns to the round.",
    )
    submit = SubmitField("Refuse the award")
