"""Sign-in, registration, password and invitation forms."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, IntegerField, PasswordField, SelectField, StringField, SubmitField
from wtforms.validators import Email, EqualTo, InputRequired, Length, NumberRange, Regexp

from app.domain import GOVERNMENT_TYPES, ROLES, US_STATES
from app.services.accounts import MIN_PASSWORD_LENGTH
from forms import options

REQUIRED = "This field is required."


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[InputRequired("Enter your email.")])
    password = PasswordField("Password", validators=[InputRequired("Enter your password.")])
    submit = SubmitField("Sign in")


def _password_field(label: str) -> PasswordField:
    return PasswordField(
        label,
        validators=[
            InputRequired("Choose a password."),
            Length(
                min=MIN_PASSWORD_LENGTH, message=f"Use at least {MIN_PASSWORD_LENGTH} characters."
            ),
        ],
        description=f"At least {MIN_PASSWORD_LENGTH} characters.",
    )


class OrganizationForm(FlaskForm):
    legal_name = StringField(
        "Legal name of the government",
        validators=[InputRequired("Enter the government's legal name."), Length(max=200)],
    )
    government_type = SelectField(
        "Government type",
        choices=options([("", "- Select -"), *GOVERNMENT_TYPES.items()]),
        validators=[InputRequired("Choose the type of government.")],
    )
    state_code = SelectField(
        "State or territory",
        choices=options(
            [("", "- Select -")]
            + [(k, f"{v} ({k})") for k, v in sorted(US_STATES.items(), key=lambda kv: kv[1])]
        ),
        validators=[InputRequired("Choose the state or territory.")],
    )
    population = IntegerField(
        "Population",
        validators=[
            InputRequired("Enter the population as a whole number."),
            NumberRange(
                min=1, max=400_000_000, message="Enter a population between 1 and 400,000,000."
            ),
        ],
    )
    street = StringField(
        "Street address", validators=[InputRequired("Enter the street address."), Length(max=200)]
    )
    city = StringField(
        "City or town", validators=[InputRequired("Enter the city or town."), Length(max=100)]
    )
    zip_code = StringField(
        "ZIP code",
        validators=[
            InputRequired("Enter the ZIP code."),
            Regexp(r"^\d{5}(-\d{4})?$", message="Enter a ZIP code like 12345 or 12345-6789."),
        ],
    )
    official_name = StringField(
        "Authorized official's full name",
        validators=[
            InputRequired("Enter the name of the official who can sign for the government."),
            Length(max=200),
        ],
    )
    official_title = StringField(
        "Authorized official's title",
        validators=[InputRequired("Enter the official's title."), Length(max=200)],
    )

    def validate_government_type(self, field: SelectField) -> None:
        from wtforms.validators import ValidationError

        code = self.state_code.data
        if field.data == "territory" and code and code not in {"AS", "GU", "MP", "PR", "VI"}:
            raise ValidationError("A territory's state must be one of the territories.")


class RegistrationForm(OrganizationForm):
    name = StringField(
        "Your full name", validators=[InputRequired("Enter your name."), Length(max=200)]
    )
    email = EmailField(
        "Email",
        validators=[
            InputRequired("Enter your work email."),
            Email("Enter an email address like name@city.gov."),
        ],
    )
    password = _password_field("Password")
    confirm = PasswordField(
        "Repeat the password",
        validators=[
            InputRequired("Repeat the password."),
            EqualTo("password", "The passwords do not match."),
        ],
    )
    submit = SubmitField("Register")


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField(
        "Current password", validators=[InputRequired("Enter your current password.")]
    )
    new_password = _password_field("New password")
    confirm = PasswordField(
        "Repeat the new password",
        validators=[
            InputRequired("Repeat the new password."),
            EqualTo("new_password", "The passwords do not match."),
        ],
    )
    submit = SubmitField("Change password")


class InvitationAcceptForm(FlaskForm):
    name = StringField(
        "Your full name", validators=[InputRequired("Enter your name."), Length(max=200)]
    )
    password = _password_field("Password")
    confirm = PasswordField(
        "Repeat the password",
        validators=[
            InputRequired("Repeat the password."),
            EqualTo("password", "The passwords do not match."),
        ],
    )
    submit = SubmitField("Create my account")


class InviteForm(FlaskForm):
    email = EmailField(
        "Email of the person to invite",
        validators=[
            InputRequired("Enter an email."),
            Email("Enter an email address like name@agency.gov."),
        ],
    )
    role = SelectField(
        "Role", choices=options((k, v) for k, v in ROLES.items() if k != "applicant")
    )
    submit = SubmitField("Send invitation")


class ColleagueInviteForm(FlaskForm):
    email = EmailField(
        "Email of your colleague",
        validators=[
            InputRequired("Enter an email."),
            Email("Enter an email address like name@city.gov."),
        ],
    )
    submit = SubmitField("Send invitation")


__all__ = [
    "REQUIRED",
    "ColleagueInviteForm",
    "InvitationAcceptForm",
    "InviteForm",
    "LoginForm",
    "OrganizationForm",
    "PasswordChangeForm",
    "RegistrationForm",
]
