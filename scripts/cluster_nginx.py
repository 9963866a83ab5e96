"""The cluster's nginx: its configuration from cluster/nginx.conf.template, and its command line.

nginx runs in the foreground from files under the cluster's state folder, never as the system
service. When started as root, its workers drop to `nobody` (nginx's own rule), so the folders
they write into are handed to that user.
"""
from __future__ import annotations

import grp
import json
import os
import pwd
import re
import shutil
from pathlib import Path
from typing import List

import yaml

from scripts.cluster_settings import ROOT, ClusterSettings

TEMPLATE = ROOT / "cluster" / "nginx.conf.template"
NGINX_CANDIDATES = ("/usr/sbin/nginx", "nginx")
TEMP_FOLDERS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
# A server that refused a connection is left out of the rotation this long.
FAIL_TIMEOUT_SECONDS = 5


def nginx_binary() -> str:
    for candidate in NGINX_CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    raise RuntimeError("nginx is not installed: run `bash scripts/install_nginx.sh` (Debian's package).")


def _servers(ports) -> str:
    return "\n".join(f"        server 127.0.0.1:{port} max_fails=1 fail_timeout={FAIL_TIMEOUT_SECONDS}s;"
                     for port in ports)


def message_too_long_json() -> str:
    """The REST channel's reply to an over-long message, as nginx answers it itself (from the domain)."""
    responses = yaml.safe_load((ROOT / "domain" / "general.yml").read_text())["responses"]
    body = json.dumps([{"recipient_id": "", "text": responses["utter_message_too_long"][0]["text"]}],
                      ensure_ascii=True)
    if "'" in body or "\\" in body:
        raise ValueError("utter_message_too_long must be plain ASCII without quotes (it is an nginx string)")
    return body


def render_config(settings: ClusterSettings, worker_user: str = "") -> str:
    token = settings.secrets["ACTION_SERVER_TOKEN"]
    if not re.fullmatch(r"[A-Za-z0-9_\-.~]+", token):
        # It is written inside a quoted nginx string: keep it to URL-safe characters.
        raise ValueError("ACTION_SERVER_TOKEN may only contain letters, digits and -_.~")
    values = {
        "USER_DIRECTIVE": f"user {worker_user};" if worker_user else "",
        "RUN_DIR": str(settings.run_dir),
        "LOG_DIR": str(settings.log_dir),
        "RASA_SERVERS": _servers(settings.rasa_ports),
        "ACTION_SERVERS": _servers(settings.action_ports),
        "ACTION_SERVER_TOKEN": token,
        "PUBLIC_BIND": settings.bind,
        "PUBLIC_PORT": str(settings.public_port),
        "ACTIONS_BIND": "127.0.0.1",
        "ACTIONS_PORT": str(settings.actions_lb_port),
        "RASA_READ_TIMEOUT": str(settings.timeouts.public_read),
        "ACTION_TIMEOUT": f"{settings.timeouts.action_call:g}",
        "MESSAGE_TOO_LONG_JSON": message_too_long_json(),
    }
    text = TEMPLATE.read_text()
    for name, value in values.items():
        text = text.replace(f"@@{name}@@", value)
    leftover = re.findall(r"@@[A-Z_]+@@", text)
    if leftover:
        raise ValueError(f"unfilled placeholders in {TEMPLATE.name}: {sorted(set(leftover))}")
    return text


def write_config(settings: ClusterSettings) -> Path:
    """Writes the configuration (mode 600: it holds the action servers' secret); returns its path."""
    worker_user = ""
    folders = [settings.run_dir / name for name in TEMP_FOLDERS]
    for folder in [settings.log_dir, *folders]:
        folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        worker_user = f"nobody {grp.getgrgid(nobody.pw_gid).gr_name}"
        for folder in folders:
            os.chown(folder, nobody.pw_uid, nobody.pw_gid)
    path = settings.run_dir / "nginx.conf"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as out:
        out.write(render_config(settings, worker_user))
    return path


def nginx_command(settings: ClusterSettings, config: Path) -> List[str]:
    # -e: nginx's own early error log, before it has read the configuration (not /var/log/nginx).
    return [nginx_binary(), "-p", str(settings.run_dir), "-c", str(config),
            "-e", str(settings.log_dir / "nginx-error.log")]
