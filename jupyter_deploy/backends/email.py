"""Mail a report over SMTP: the report as the HTML body (images inline) and as an attachment.

``--to mailto:ana@example.org,bo@example.org`` (RFC 6068: ``?cc=``, ``?bcc=`` and ``?subject=``
are honoured). The server and login come from config (``c.EmailBackend.host`` ...) or the
environment: ``JUPYTER_DEPLOY_SMTP_HOST``, ``_PORT``, ``_USER``, ``_PASSWORD``, ``_FROM`` -- never
from the command line. STARTTLS is used whenever the server offers it (``security = "starttls"``
requires it, ``"ssl"`` connects with implicit TLS, ``"none"`` never encrypts).

Images embedded as data URIs in the report become inline MIME parts referenced by ``cid:``
(mail clients block data URIs); scripts are left out of the body (mail clients drop them) but
the attached report keeps everything. SMTP can only prove that the server accepted the message
(its 250 reply): delivery into each inbox cannot be checked from here, and the proof says so.
"""

from __future__ import annotations

import base64
import os
import re
import smtplib
import socket
from pathlib import Path
from typing import ClassVar
from urllib.parse import parse_qs, unquote

from traitlets import Bool, Enum, Float, Int, Unicode

from ..errors import BackendError, UsageError
from ..bundle import Bundle, Handoff, Proof, ReportSpec
from ..plugin import Backend

_DATA_IMG = re.compile(
    r"""src=(["'])data:(image/(?:png|jpeg|jpg|gif|webp|svg\+xml));base64,([A-Za-z0-9+/=\s]+)\1""",
    re.IGNORECASE,
)
_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script\s*>", re.IGNORECASE | re.DOTALL)


class EmailError(BackendError):
    code = "email"


def parse_mailto(destination: str) -> tuple[list[str], list[str], list[str], str]:
    """(to, cc, bcc, subject) of a ``mailto:`` URL; refuses anything that is not an address."""
    from email.utils import getaddresses

    if not destination.lower().startswith("mailto:"):
        raise UsageError("The e-mail backend needs a mailto: address.", hint="--to mailto:ana@example.org")
    rest = destination[len("mailto:"):]
    addr_part, _, query = rest.partition("?")
    q = parse_qs(query)

    def addrs(values) -> list[str]:
        out = []
        for _name, addr in getaddresses([unquote(v) for v in values if v]):
            if addr:
                out.append(addr)
        return out

    to = addrs([addr_part])
    cc = addrs(q.get("cc", []))
    bcc = addrs(q.get("bcc", []))
    every = to + cc + bcc
    bad = [a for a in every if not re.fullmatch(r"[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+|[^@\s,;<>]+@localhost", a)]
    raw_parts = [p for p in re.split(r"[,;]", unquote(addr_part)) if p.strip()]
    if bad or not every or len(raw_parts) != len(to):
        shown = ", ".join(bad) if bad else (unquote(addr_part) or "(none)")
        raise UsageError(
            f"Not a valid list of e-mail addresses: {shown}.",
            hint="Write --to mailto:ana@example.org,bo@example.org",
        )
    subject = unquote((q.get("subject") or [""])[0])
    return to, cc, bcc, subject


def inline_images(html: str) -> tuple[str, list[tuple[str, str, bytes]]]:
    """Replace data-URI images by ``cid:`` references; return (html, [(cid, mime, bytes)])."""
    from email.utils import make_msgid

    parts: list[tuple[str, str, bytes]] = []
    seen: dict[str, str] = {}

    def repl(m):
        quote, mime, payload = m.group(1), m.group(2).lower(), re.sub(r"\s+", "", m.group(3))
        if payload in seen:
            cid = seen[payload]
        else:
            try:
                data = base64.b64decode(payload)
            except (ValueError, TypeError):
                return m.group(0)
            cid = make_msgid(idstring=f"img{len(parts) + 1}", domain="jupyter-deploy")[1:-1]
            seen[payload] = cid
            parts.append((cid, "image/jpeg" if mime == "image/jpg" else mime, data))
        return f"src={quote}cid:{cid}{quote}"

    return _DATA_IMG.sub(repl, html), parts


class EmailBackend(Backend):
    """E-mail over SMTP: the report as the HTML body with inline images, plus attached."""

    plugin_name: ClassVar[str] = "email"
    description: ClassVar[str] = (
        "E-mail over SMTP to one or more recipients (mailto:a@x.org,b@y.org): the report as "
        "the HTML body with inline images, and attached; STARTTLS and login from config or "
        "environment."
    )
    accepts: ClassVar[tuple[str, ...]] = ("report",)
    schemes: ClassVar[tuple[str, ...]] = ("mailto",)

    host = Unicode("", help="SMTP server (else $JUPYTER_DEPLOY_SMTP_HOST, else localhost).").tag(config=True)
    port = Int(0, help="SMTP port (else $JUPYTER_DEPLOY_SMTP_PORT; default 465 for ssl, else 25).").tag(config=True)
    username = Unicode("", help="SMTP login (else $JUPYTER_DEPLOY_SMTP_USER); no login when empty.").tag(config=True)
    password = Unicode("", help="SMTP password (else $JUPYTER_DEPLOY_SMTP_PASSWORD).").tag(config=True)
    sender = Unicode("", help="From address (else $JUPYTER_DEPLOY_SMTP_FROM, else the login or user@host).").tag(config=True)
    security = Enum(
        ["auto", "starttls", "ssl", "none"], default_value="auto",
        help="auto: STARTTLS when the server offers it; starttls: require it; ssl: implicit TLS; "
        "none: never encrypt.",
    ).tag(config=True)
    ca_file = Unicode("", help="CA certificate file to check the SMTP server's certificate with.").tag(config=True)
    verify_tls = Bool(True, help="Check the SMTP server's TLS certificate.").tag(config=True)
    timeout = Float(60.0, help="Seconds to wait for the SMTP server at each step.").tag(config=True)
    subject = Unicode("Report: {title}", help="Subject line; {title} and {created} are filled in.").tag(config=True)

    # ------------------------------------------------------------------------ settings

    def _settings(self) -> dict:
        env = os.environ.get
        host = self.host or env("JUPYTER_DEPLOY_SMTP_HOST", "") or "localhost"
        port = self.port
        if not port and env("JUPYTER_DEPLOY_SMTP_PORT"):
            try:
                port = int(env("JUPYTER_DEPLOY_SMTP_PORT", ""))
            except ValueError:
                raise UsageError(
                    f"$JUPYTER_DEPLOY_SMTP_PORT is not a port number: {env('JUPYTER_DEPLOY_SMTP_PORT')!r}.",
                    hint="Set it to a number such as 25, 465 or 587.",
                ) from None
        if not port:
            port = 465 if self.security == "ssl" else 25
        user = self.username or env("JUPYTER_DEPLOY_SMTP_USER", "")
        password = self.password or env("JUPYTER_DEPLOY_SMTP_PASSWORD", "")
        sender = self.sender or env("JUPYTER_DEPLOY_SMTP_FROM", "")
        if not sender:
            sender = user if "@" in user else f"{os.environ.get('USER') or 'jupyter-deploy'}@{socket.getfqdn()}"
        return {"host": host, "port": port, "user": user, "password": password, "sender": sender}

    def _tls_context(self):
        import ssl

        ctx = ssl.create_default_context(cafile=self.ca_file or None)
        if not self.verify_tls:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        return ctx

    # ------------------------------------------------------------------------ message

    def build_message(self, bundle: Bundle, to, cc, subject: str, sender: str):
        from email.message import EmailMessage
        from email.utils import formatdate, make_msgid

        man = bundle.manifest
        spec = bundle.spec_as(ReportSpec)
        main = spec.main or "report.html"
        html = (bundle.path / "report.html").read_text(encoding="utf-8")
        body, images = inline_images(_SCRIPT.sub("", html))
        title = spec.title or "Report"
        msg = EmailMessage()
        msg["Subject"] = subject or self.subject.format(title=title, created=spec.created)
        msg["From"] = sender
        msg["To"] = ", ".join(to)
        if cc:
            msg["Cc"] = ", ".join(cc)
        msg["Date"] = formatdate(localtime=False, usegmt=True)
        msg["Message-ID"] = make_msgid(domain="jupyter-deploy")
        msg["X-Jupyter-Deploy-Notebook-Hash"] = str(man.get("notebook_hash", ""))
        lines = [
            title,
            f"by {spec.author}, {spec.created}",
            f"verdict: {man.get('verdict', '')}" + (" (FORCED)" if man.get("forced") else ""),
            f"notebook: {Path(str(man.get('notebook', ''))).name} ({str(man.get('notebook_hash', ''))[:16]})",
            "",
            f"The report is attached ({main}); open the HTML part of this message to read it inline.",
        ]
        msg.set_content("\n".join(lines))
        msg.add_alternative(body, subtype="html", cte="quoted-printable")
        html_part = msg.get_payload()[-1]
        for cid, mime, data in images:
            maintype, subtype = mime.split("/", 1)
            html_part.add_related(data, maintype=maintype, subtype=subtype, cid=f"<{cid}>",
                                  disposition="inline")
        attach = bundle.path / main
        maintype, subtype = ("application", "pdf") if main.endswith(".pdf") else ("text", "html")
        if maintype == "text":
            msg.add_attachment(attach.read_text(encoding="utf-8"), subtype=subtype, filename=main,
                               cte="base64")
        else:
            msg.add_attachment(attach.read_bytes(), maintype=maintype, subtype=subtype, filename=main)
        return msg

    # ------------------------------------------------------------------------ publish

    def publish(self, bundle: Bundle, destination: str | None, reporter) -> Handoff:
        to, cc, bcc, subject = parse_mailto(destination or "")
        s = self._settings()
        msg = self.build_message(bundle, to, cc, subject, s["sender"])
        recipients = to + cc + bcc
        where = f"{s['host']}:{s['port']}"
        reporter("publish", 0, 3, f"connecting to {where}")
        try:
            if self.security == "ssl":
                smtp = smtplib.SMTP_SSL(s["host"], s["port"], timeout=self.timeout,
                                        context=self._tls_context())
            else:
                smtp = smtplib.SMTP(s["host"], s["port"], timeout=self.timeout)
        except (OSError, smtplib.SMTPException) as exc:
            raise EmailError(
                f"Cannot connect to the SMTP server {where}: {exc}.",
                hint="Set c.EmailBackend.host/port or $JUPYTER_DEPLOY_SMTP_HOST/_PORT. Nothing was sent.",
            ) from exc
        try:
            return self._send(smtp, s, msg, recipients, where, reporter, bundle)
        except smtplib.SMTPAuthenticationError as exc:
            raise EmailError(
                f"The SMTP server {where} refused the login for {s['user']!r}: {exc.smtp_code} "
                f"{_text(exc.smtp_error)}.",
                hint="Check $JUPYTER_DEPLOY_SMTP_USER/_PASSWORD (or c.EmailBackend.username/"
                "password). Nothing was sent.",
            ) from exc
        except smtplib.SMTPServerDisconnected as exc:
            raise EmailError(
                f"The SMTP server {where} closed the connection before accepting the message "
                f"({exc or 'disconnected'}); it was not delivered.",
                hint="Try again later, or check the server's message size limit and logs.",
            ) from exc
        except smtplib.SMTPNotSupportedError as exc:
            raise EmailError(
                f"The SMTP server {where} does not support what was asked: {exc}.",
                hint="Check c.EmailBackend.security (starttls/ssl/none) and the port. Nothing was sent.",
            ) from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise EmailError(
                f"Sending through {where} failed: {type(exc).__name__}: {exc}.",
                hint="Check the server settings and its logs. Nothing was delivered.",
            ) from exc
        finally:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()

    def _send(self, smtp, s, msg, recipients, where, reporter, bundle) -> Handoff:
        smtp.ehlo_or_helo_if_needed()
        tls = self.security == "ssl"
        if self.security in ("auto", "starttls") and smtp.has_extn("starttls"):
            smtp.starttls(context=self._tls_context())
            smtp.ehlo()
            tls = True
        elif self.security == "starttls":
            raise smtplib.SMTPNotSupportedError("STARTTLS is required but the server does not offer it")
        if s["user"]:
            reporter("publish", 1, 3, f"logging in as {s['user']}")
            smtp.login(s["user"], s["password"])
        reporter("publish", 2, 3, f"sending to {len(recipients)} recipient(s)")
        code, resp = smtp.mail(s["sender"])
        if code != 250:
            smtp.rset()
            raise EmailError(f"The SMTP server {where} refused the sender {s['sender']}: {code} {_text(resp)}.",
                             hint="Set c.EmailBackend.sender or $JUPYTER_DEPLOY_SMTP_FROM to an allowed address.")
        refused = {}
        for rcpt in recipients:
            code, resp = smtp.rcpt(rcpt)
            if code not in (250, 251):
                refused[rcpt] = f"{code} {_text(resp)}"
        if len(refused) == len(recipients):
            smtp.rset()
            raise EmailError(
                f"The SMTP server {where} refused every recipient: "
                + "; ".join(f"{k}: {v}" for k, v in refused.items()) + ".",
                hint="Check the addresses and that the server relays for you. Nothing was sent.",
            )
        from email import policy

        code, resp = smtp.data(msg.as_bytes(policy=policy.SMTP))
        if code != 250:
            raise EmailError(f"The SMTP server {where} rejected the message: {code} {_text(resp)}.",
                             hint="Check the server's size limit and policies. Nothing was delivered.")
        accepted = [r for r in recipients if r not in refused]
        reporter("publish", 3, 3, f"accepted by {where}: {code} {_text(resp)}")
        dest = "mailto:" + ",".join(accepted)
        return Handoff(
            destination=dest,
            summary=f"report {bundle.spec_as(ReportSpec).title!r} mailed to {len(accepted)} "
            f"recipient(s) via {where}",
            details={
                "server": where,
                "tls": tls,
                "recipients": accepted,
                "refused": refused,
                "message_id": msg["Message-ID"],
                "smtp_reply": f"{code} {_text(resp)}",
            },
        )

    def verify(self, bundle: Bundle, handoff: Handoff, reporter) -> list[Proof]:
        d = handoff.details
        proofs = [
            Proof(
                "accepted by the SMTP server",
                True,
                f"{d.get('smtp_reply')} from {d.get('server')} for {len(d.get('recipients', []))} "
                "recipient(s); delivery into the inboxes cannot be checked over SMTP",
                {"message_id": d.get("message_id")},
            )
        ]
        if d.get("refused"):
            proofs.append(
                Proof("every recipient accepted", False,
                      "refused: " + "; ".join(f"{k}: {v}" for k, v in d["refused"].items()))
            )
        return proofs


def _text(value) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return " ".join(str(value).split())
