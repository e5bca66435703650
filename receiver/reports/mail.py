"""Sending a report: one multipart message (plain text + HTML) over SMTP with aiosmtplib."""

from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import aiosmtplib

from receiver.config import ReportSettings
from receiver.reports.document import Document
from receiver.reports.html import render_html
from receiver.reports.text import render_text


class ReportNotConfigured(RuntimeError):
    """SMTP host, sender or recipients are missing."""


def report_message(document: Document, settings: ReportSettings) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = document.title
    message["From"] = settings.sender
    message["To"] = ", ".join(settings.recipients)
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=settings.sender.rpartition("@")[2] or None)
    message.set_content(render_text(document))
    message.add_alternative(render_html(document), subtype="html")
    return message


async def send_report(document: Document, settings: ReportSettings) -> None:
    if not settings.can_send:
        raise ReportNotConfigured(
            "set RECEIVER_SMTP_HOST, RECEIVER_REPORT_FROM and RECEIVER_REPORT_TO to send reports"
        )
    await aiosmtplib.send(
        report_message(document, settings),
        sender=settings.sender,
        recipients=list(settings.recipients),
        hostname=settings.smtp_host,
        port=settings.smtp_port,
        username=settings.smtp_username or None,
        password=settings.smtp_password or None,
        use_tls=settings.smtp_security == "tls",
        start_tls=settings.smtp_security == "starttls",
        timeout=settings.smtp_timeout_seconds,
    )
