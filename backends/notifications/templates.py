"""Approved WhatsApp message templates, as versioned data: `backends/notifications/templates/*.yml`.

Each file is one template as Meta approved it (name, version, language, category, header, body
with named parameters, footer, quick-reply buttons) plus the SMS text used as a fallback. This
module reads and checks them, renders them for sending (a `type: template` message, or the same
words as free-form text inside the 24-hour window) and prints what to submit to Meta:

    python -m backends.notifications.templates submission [NAME]   # JSON for POST /{WABA-ID}/message_templates
    python -m backends.notifications.templates check                # valid, and every one the code uses exists

Parameters are written `{{name}}` in the files (readable for reviewers) and become Meta's
positional `{{1}}`, `{{2}}` in the order of `parameters`.
"""
from __future__ import annotations

import argparse
import functools
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, FrozenSet, List, Mapping, Optional, Sequence, Tuple

import yaml

TEMPLATES_DIR = Path(__file__).parent / "templates"
CATEGORIES = frozenset({"UTILITY", "MARKETING", "AUTHENTICATION"})
# Meta's limits for template components (a longer value is rejected at submission).
HEADER_LIMIT = 60
BODY_LIMIT = 1024
FOOTER_LIMIT = 60
BUTTON_TEXT_LIMIT = 25
QUICK_REPLIES_MAX = 3          # also what fits WhatsApp's reply buttons for the free-form variant
FREE_FORM_BUTTON_LIMIT = 20    # reply-button titles of an interactive message
PAYLOAD_LIMIT = 256
PARAMETER_VALUE_LIMIT = 1024
SMS_LIMIT = 306                # two concatenated SMS segments
_PARAMETER = re.compile(r"\{\{\s*([a-z_][a-z0-9_]*)\s*\}\}")
_NAME = re.compile(r"^[a-z0-9_]{1,400}$")


class TemplateError(ValueError):
    """A template file that Meta would refuse or the code cannot fill."""


@dataclass(frozen=True)
class Button:
    text: str
    payload: str


@dataclass(frozen=True)
class MessageTemplate:
    name: str
    version: int
    language: str
    category: str
    description: str
    header: Optional[str]
    body: str
    footer: Optional[str]
    parameters: Tuple[str, ...]
    examples: Tuple[str, ...]
    buttons: Tuple[Button, ...]
    sms: Optional[str]

    @property
    def meta_name(self) -> str:
        """The name at Meta: one approved template per version."""
        return f"vaksinbot_{self.name}_v{self.version}"

    @property
    def has_sms_fallback(self) -> bool:
        return bool(self.sms)

    def positional_body(self) -> str:
        return _PARAMETER.sub(lambda m: "{{%d}}" % (self.parameters.index(m.group(1)) + 1), self.body)

    def values(self, parameters: Mapping[str, str]) -> List[str]:
        """The parameter values in Meta's order; missing ones are an error, not an empty hole."""
        missing = [name for name in self.parameters if not str(parameters.get(name) or "").strip()]
        if missing:
            raise TemplateError(f"template {self.name}: no value for {', '.join(missing)}")
        return [parameter_value(parameters[name]) for name in self.parameters]

    def render_text(self, parameters: Mapping[str, str]) -> str:
        """The words of the template, filled in: the free-form message inside the 24-hour window."""
        values = dict(zip(self.parameters, self.values(parameters)))
        body = _PARAMETER.sub(lambda m: values[m.group(1)], self.body)
        parts = [f"*{self.header}*" if self.header else "", body, f"_{self.footer}_" if self.footer else ""]
        return "\n\n".join(part for part in parts if part)

    def render_sms(self, parameters: Mapping[str, str]) -> str:
        if not self.sms:
            raise TemplateError(f"template {self.name} has no SMS text")
        values = {name: parameter_value(parameters.get(name) or "") for name in self.parameters}
        return " ".join(_PARAMETER.sub(lambda m: values.get(m.group(1), ""), self.sms).split())

    def submission(self) -> dict:
        """The body of `POST /{whatsapp-business-account-id}/message_templates`."""
        components: List[dict] = []
        if self.header:
            components.append({"type": "HEADER", "format": "TEXT", "text": self.header})
        body: dict = {"type": "BODY", "text": self.positional_body()}
        if self.parameters:
            body["example"] = {"body_text": [list(self.examples)]}
        components.append(body)
        if self.footer:
            components.append({"type": "FOOTER", "text": self.footer})
        if self.buttons:
            components.append({"type": "BUTTONS",
                               "buttons": [{"type": "QUICK_REPLY", "text": b.text} for b in self.buttons]})
        return {"name": self.meta_name, "language": self.language, "category": self.category,
                "components": components}


def parameter_value(value: object) -> str:
    """Meta refuses parameter values with newlines, tabs or more than 4 spaces in a row."""
    text = " ".join(str(value).split())
    return text[:PARAMETER_VALUE_LIMIT]


def parse_template(data: Mapping, source: str = "<template>") -> MessageTemplate:
    def text(key: str, required: bool = True) -> Optional[str]:
        value = data.get(key)
        if value is None or not str(value).strip():
            if required:
                raise TemplateError(f"{source}: `{key}` is required")
            return None
        return str(value).strip()

    parameters = data.get("parameters") or []
    buttons = data.get("buttons") or []
    if not isinstance(parameters, list) or not isinstance(buttons, list):
        raise TemplateError(f"{source}: `parameters` and `buttons` are lists")
    template = MessageTemplate(
        name=text("name"), version=int(data.get("version") or 0), language=text("language"),
        category=str(text("category")).upper(), description=text("description"), header=text("header", False),
        body=text("body"), footer=text("footer", False),
        parameters=tuple(str(p.get("name")) for p in parameters),
        examples=tuple(str(p.get("example") or "") for p in parameters),
        buttons=tuple(Button(str(b.get("text") or "").strip(), str(b.get("payload") or "").strip())
                      for b in buttons),
        sms=text("sms", False))
    for problem in problems(template):
        raise TemplateError(f"{source}: {problem}")
    return template


def problems(template: MessageTemplate) -> List[str]:
    """What Meta (or the sender) would refuse, as sentences; empty when the template is fine."""
    found: List[str] = []
    if not _NAME.match(template.meta_name):
        found.append(f"name {template.meta_name!r}: lowercase letters, digits and underscores only")
    if template.version < 1:
        found.append("version must be a positive integer")
    if template.category not in CATEGORIES:
        found.append(f"category must be one of {', '.join(sorted(CATEGORIES))}")
    used = _PARAMETER.findall(template.body)
    if sorted(set(used)) != sorted(template.parameters) or len(set(template.parameters)) != len(template.parameters):
        found.append(f"the body uses {sorted(set(used))} but `parameters` lists {list(template.parameters)}")
    if any(not example.strip() for example in template.examples):
        found.append("every parameter needs an `example` (Meta's reviewers read them)")
    stripped = template.body.strip()
    if stripped.startswith("{{") or stripped.endswith("}}"):
        found.append("the body may not start or end with a parameter")
    for label, value, limit in (("header", template.header, HEADER_LIMIT), ("body", template.body, BODY_LIMIT),
                                ("footer", template.footer, FOOTER_LIMIT)):
        if value and len(value) > limit:
            found.append(f"{label} is {len(value)} characters; Meta allows {limit}")
    if any(_PARAMETER.search(part or "") for part in (template.header, template.footer)):
        found.append("header and footer take no parameters here")
    if len(template.buttons) > QUICK_REPLIES_MAX:
        found.append(f"at most {QUICK_REPLIES_MAX} quick-reply buttons")
    for button in template.buttons:
        if not button.text or len(button.text) > FREE_FORM_BUTTON_LIMIT:
            found.append(f"button {button.text!r}: 1 to {FREE_FORM_BUTTON_LIMIT} characters")
        if not button.payload.startswith("/") or len(button.payload) > PAYLOAD_LIMIT:
            found.append(f"button {button.text!r}: the payload is a Rasa intent, `/intent_name`")
    if len({b.text for b in template.buttons}) != len(template.buttons):
        found.append("button texts must differ")
    if template.sms:
        filled = template.render_sms(dict(zip(template.parameters, template.examples)))
        if len(filled) > SMS_LIMIT:
            found.append(f"the SMS is {len(filled)} characters with the examples; at most {SMS_LIMIT}")
    return found


@functools.lru_cache(maxsize=None)
def _load(directory: str) -> Dict[str, MessageTemplate]:
    templates: Dict[str, MessageTemplate] = {}
    for path in sorted(Path(directory).glob("*.yml")):
        with path.open(encoding="utf-8") as handle:
            template = parse_template(yaml.safe_load(handle) or {}, path.name)
        if template.name != path.stem:
            raise TemplateError(f"{path.name}: the file name must be the template name ({template.name}.yml)")
        templates[template.name] = template
    return templates


def all_templates(directory: Path = TEMPLATES_DIR) -> Dict[str, MessageTemplate]:
    return dict(_load(str(directory)))


def get(name: str, directory: Path = TEMPLATES_DIR) -> MessageTemplate:
    try:
        return _load(str(directory))[name]
    except KeyError:
        raise TemplateError(f"no template file {name}.yml in {directory}") from None


def template_payloads(directory: Path = TEMPLATES_DIR) -> FrozenSet[str]:
    """Every quick-reply payload a template offers: a press on one is a button the bot offered."""
    return frozenset(b.payload for t in _load(str(directory)).values() for b in t.buttons)


def check(used: Sequence[str], known_intents: Optional[FrozenSet[str]] = None,
          directory: Path = TEMPLATES_DIR) -> List[str]:
    """Problems with the templates the code `used`: missing files, invalid files, payloads that
    name no intent of the domain, files no campaign uses."""
    try:
        templates = _load(str(directory))
    except TemplateError as error:
        return [str(error)]
    found = [f"the code uses template {name!r}, but {name}.yml does not exist" for name in used
             if name not in templates]
    found += [f"{name}.yml is used by no campaign" for name in templates if name not in used]
    if known_intents is not None:
        for template in templates.values():
            for button in template.buttons:
                if button.payload.lstrip("/") not in known_intents:
                    found.append(f"{template.name}: button {button.text!r} sends {button.payload}, "
                                 "which is not an intent of the domain")
    return found


def domain_intents(domain_dir: Path = Path(__file__).resolve().parents[2] / "domain") -> FrozenSet[str]:
    names = set()
    for path in domain_dir.glob("*.yml"):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for intent in data.get("intents") or []:
            names.add(next(iter(intent)) if isinstance(intent, dict) else str(intent))
    return frozenset(names)


def main(argv: Optional[Sequence[str]] = None) -> int:
    from backends.notifications.domain import CAMPAIGNS

    parser = argparse.ArgumentParser(prog="python -m backends.notifications.templates", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    submission = commands.add_parser("submission", help="print what to submit to Meta (JSON, one per template)")
    submission.add_argument("name", nargs="?", help="one template (default: all)")
    commands.add_parser("check", help="check the templates and that every one the code uses exists")
    args = parser.parse_args(argv)
    used = sorted({campaign.template for campaign in CAMPAIGNS.values()})
    if args.command == "check":
        found = check(used, domain_intents())
        for problem in found:
            print(f"template problem: {problem}", file=sys.stderr)
        if not found:
            print(f"{len(used)} templates OK: {', '.join(get(name).meta_name for name in used)}")
        return 1 if found else 0
    names = [args.name] if args.name else used
    try:
        print(json.dumps([get(name).submission() for name in names], ensure_ascii=False, indent=2))
    except TemplateError as error:
        print(error, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
