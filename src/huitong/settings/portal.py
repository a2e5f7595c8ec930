"""The patient portal (``HUITONG_PORTAL__…``)."""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr


class PortalSettings(BaseModel):
    """The patient portal: self-registration and the one-time codes that protect binding to a hospital record."""

    registration_enabled: bool = Field(
        default=True,
        description="Let patients open an account themselves at `/portal/register` (see docs/apps.md).",
    )
    sms_gateway_url: str = Field(
        default="",
        description=(
            'The hospital\'s SMS gateway: one-time codes are POSTed there as JSON `{"phone": …, "text": …}`. '
            "Empty: no SMS is sent; in development and test the code is written to the log (logger "
            "`huitong.web.registration`, never to the page), in production binding an account to an existing "
            "hospital record online is refused and the patient is sent to the registration desk."
        ),
    )
    sms_gateway_token: SecretStr | None = Field(
        default=None, description="Bearer token sent to `sms_gateway_url` (unset: none)."
    )
    code_minutes: int = Field(default=10, ge=1, le=60, description="How long a one-time code stays valid (minutes).")
    code_attempts: int = Field(
        default=5, ge=1, le=10, description="Wrong codes accepted before the registration must start again."
    )
    codes_per_hour: int = Field(
        default=3, ge=1, le=20, description="Most one-time codes sent for one hospital record per hour."
    )
